# Credo-mirroring checks of the Design category: TODO / FIXME tags.

defmodule ElixirCoder.Rules.CredoTags do
  @moduledoc false
  alias ElixirCoder.Rules.AST
  alias ElixirCoder.Rules.CredoSupport

  def run(ctx, rule, tag) do
    comment_re = Regex.compile!("^#\\s*" <> tag <> ":?\\s*.+", "i")
    doc_re = Regex.compile!("\\A\\s*" <> tag <> ":?\\s*.+", "is")

    comments =
      for {:comment, {l, c}, {_, c2}} <- AST.regions(ctx),
          text = ctx |> AST.line_text(l) |> AST.cp_slice(c - 1, c2 - c) |> String.trim_trailing(),
          Regex.match?(comment_re, text) do
        CredoSupport.issue(ctx, rule,
          line: l,
          column: c,
          trigger: text,
          message: "Found a #{tag} tag in a comment: #{text}"
        )
      end

    docs =
      if ctx.ast != nil and ctx.params["include_doc"] != false do
        AST.find_all(ctx, &match?({:@, _, [{d, _, [s]}]} when d in [:doc, :moduledoc, :shortdoc] and is_binary(s), &1))
        |> Enum.filter(fn {:@, _, [{_, _, [s]}]} -> Regex.match?(doc_re, s) end)
        |> Enum.map(fn {:@, meta, [{_, _, [s]}]} ->
          text = String.trim(s)

          CredoSupport.issue(ctx, rule,
            line: meta[:line],
            trigger: text,
            message: "Found a #{tag} tag in a comment: #{text}"
          )
        end)
      else
        []
      end

    comments ++ docs
  end
end

defmodule ElixirCoder.Rules.Credo.Design.TagTODO do
  use ElixirCoder.Rules.CredoRule, priority: 0, line_based: true, params: %{include_doc: true}
  def check(ctx), do: ElixirCoder.Rules.CredoTags.run(ctx, __MODULE__, "TODO")
end

defmodule ElixirCoder.Rules.Credo.Design.TagFIXME do
  use ElixirCoder.Rules.CredoRule, priority: 10, line_based: true, params: %{include_doc: true}
  def check(ctx), do: ElixirCoder.Rules.CredoTags.run(ctx, __MODULE__, "FIXME")
end

defmodule ElixirCoder.Rules.Credo.Design.AliasUsage do
  # Credo's default config runs this check with priority :low, nesting > 2 and any call count.
  use ElixirCoder.Rules.CredoRule,
    priority: -10,
    params: %{
      if_nested_deeper_than: 2,
      if_called_more_often_than: 0,
      excluded_namespaces: ~w(File IO Inspect Kernel Macro Supervisor Task Version),
      excluded_lastnames:
        ~w(Access Agent Application Atom Base Behaviour Bitwise Code Date DateTime Dict Enum Exception File Float
           GenEvent GenServer HashDict HashSet Integer IO Kernel Keyword List Macro Map MapSet Module NaiveDateTime
           Node OptionParser Path Port Process Protocol Range Record Regex Registry Set Stream String StringIO
           Supervisor System Task Time Tuple URI Version)
    }

  def check(ctx) do
    p = ctx.params
    depth = p["if_nested_deeper_than"] || 2
    min_calls = p["if_called_more_often_than"] || 0
    namespaces = p["excluded_namespaces"] || []
    lastnames = p["excluded_lastnames"] || []

    AST.find_all(ctx, &match?({:defmodule, _, [_, [{_, _}]]}, &1))
    |> Enum.flat_map(fn {:defmodule, _, [_, [{_, body}]]} ->
      # nested modules are checked on their own
      own = strip_nested(body)
      aliased = aliased_lastnames(own)

      calls =
        AST.find_all(own, &match?({{:., _, [{:__aliases__, _, [p | _]}, f]}, _, a} when is_atom(p) and is_atom(f) and is_list(a), &1))
        |> Enum.map(fn {{:., _, [{:__aliases__, meta, parts}, _]}, _, _} -> {parts, meta} end)
        |> Enum.filter(fn {parts, _} -> Enum.all?(parts, &is_atom/1) end)

      counts = Enum.frequencies_by(calls, &elem(&1, 0))
      lastname_owners = calls |> Enum.group_by(fn {parts, _} -> List.last(parts) end, &elem(&1, 0)) |> Map.new(fn {k, v} -> {k, Enum.uniq(v)} end)

      calls
      |> Enum.filter(fn {parts, _} ->
        names = Enum.map(parts, &Atom.to_string/1)
        last = List.last(parts)

        length(parts) > depth and counts[parts] > min_calls and hd(names) not in namespaces and
          List.last(names) not in lastnames and not Map.has_key?(aliased, last) and
          length(lastname_owners[last]) == 1
      end)
      |> Enum.map(fn {parts, meta} ->
        name = Enum.map_join(parts, ".", &Atom.to_string/1)

        issue(ctx, line: meta[:line], column: meta[:column], trigger: name,
          message: "Nested modules could be aliased at the top of the invoking module.")
      end)
    end)
  end

  defp strip_nested(body) do
    Macro.prewalk(body, fn
      {:defmodule, _, _} -> nil
      node -> node
    end)
  end

  defp aliased_lastnames(body) do
    AST.find_all(body, &match?({:alias, _, [_ | _]}, &1))
    |> Enum.flat_map(fn
      {:alias, _, [{:__aliases__, _, parts}, opts]} when is_list(opts) ->
        case opts[:as] do
          {:__aliases__, _, [as]} -> [as]
          _ -> [List.last(parts)]
        end

      {:alias, _, [{:__aliases__, _, parts}]} ->
        [List.last(parts)]

      {:alias, _, [{{:., _, [_, :{}]}, _, inner} | _]} ->
        for {:__aliases__, _, ps} <- inner, do: List.last(ps)

      _ ->
        []
    end)
    |> Map.new(&{&1, true})
  end
end
