# Part of the Elixir helper (see ../helper.exs for the protocol). The `summary` op: what a file defines and uses.

defmodule ElixirCoder.Helper.Summary do
  @moduledoc "Structural facts about a source file, read from its AST."

  alias ElixirCoder.Helper.Parse

  @def_kinds [:def, :defp, :defmacro, :defmacrop, :defguard, :defguardp, :defdelegate]
  @list_keys [:modules, :defs, :aliases, :imports, :requires, :uses, :attributes, :remote_calls]

  @doc "Summarizes code: modules, defs, aliases, imports, requires, uses, attributes, remote calls."
  @spec summarize(String.t()) :: {:ok, map()} | {:error, map()}
  def summarize(code) do
    with {:ok, ast} <- Parse.string_to_quoted(code) do
      {:ok, summarize_ast(ast, code)}
    end
  end

  @doc "Summarizes an AST parsed with columns and token_metadata; `code` supplies def heads."
  @spec summarize_ast(Macro.t(), String.t()) :: map()
  def summarize_ast(ast, code) do
    lines = code |> String.split(["\r\n", "\n"]) |> List.to_tuple()
    ctx = %{module: nil, aliases: %{}, lines: lines}
    acc = Map.new(@list_keys, &{&1, []})
    {acc, _ctx} = block(ast, ctx, acc)
    Map.new(acc, fn {key, items} -> {key, Enum.reverse(items)} end)
  end

  # Statements of a block thread the context (aliases) from one to the next.
  defp block({:__block__, _, stmts}, ctx, acc) when is_list(stmts) do
    Enum.reduce(stmts, {acc, ctx}, fn stmt, {acc, ctx} -> stmt(stmt, ctx, acc) end)
  end

  defp block(stmt, ctx, acc), do: stmt(stmt, ctx, acc)

  defp stmt({:defmodule, meta, [name_ast, opts]}, ctx, acc) when is_list(opts) do
    name = module_name(name_ast, ctx)
    full = if ctx.module && not erlang_module?(name_ast), do: "#{ctx.module}.#{name}", else: name
    body = Keyword.get(opts, :do)

    entry = %{
      name: full,
      line: meta[:line],
      end_line: end_line(meta, body),
      has_moduledoc: has_moduledoc?(body)
    }

    inner = %{ctx | module: full}
    {acc, _} = module_body(body, inner, push(acc, :modules, entry))

    # A nested defmodule also aliases its short name in the enclosing scope.
    ctx =
      case name_ast do
        {:__aliases__, _, [single]} when ctx.module != nil ->
          %{ctx | aliases: Map.put(ctx.aliases, Atom.to_string(single), full)}

        _ ->
          ctx
      end

    {acc, ctx}
  end

  defp stmt({:alias, meta, [target | rest]}, ctx, acc) do
    opts = List.first(rest) || []

    entries =
      case target do
        {{:., _, [base, :{}]}, _, children} ->
          prefix = module_name(base, ctx)

          for {:__aliases__, _, parts} <- children do
            full = prefix <> "." <> Enum.map_join(parts, ".", &Atom.to_string/1)
            {full, parts |> List.last() |> Atom.to_string()}
          end

        _ ->
          full = module_name(target, ctx)
          as = alias_as(opts) || full |> String.split(".") |> List.last()
          [{full, as}]
      end

    acc =
      Enum.reduce(entries, acc, fn {full, as}, acc ->
        push(acc, :aliases, %{module: full, as: as, line: meta[:line]})
      end)

    aliases = Enum.reduce(entries, ctx.aliases, fn {full, as}, m -> Map.put(m, as, full) end)
    {acc, %{ctx | aliases: aliases}}
  end

  defp stmt({kind, meta, [target | _]}, ctx, acc) when kind in [:import, :require, :use] do
    key = %{import: :imports, require: :requires, use: :uses}[kind]
    {push(acc, key, %{module: module_name(target, ctx), line: meta[:line]}), ctx}
  end

  defp stmt(other, ctx, acc), do: {walk(other, ctx, acc), ctx}

  defp alias_as(opts) when is_list(opts) do
    case Keyword.get(opts, :as) do
      {:__aliases__, _, parts} -> Enum.map_join(parts, ".", &Atom.to_string/1)
      _ -> nil
    end
  end

  defp alias_as(_), do: nil

  # Module bodies track @doc so each def knows whether it is documented.
  defp module_body(body, ctx, acc) do
    stmts =
      case body do
        {:__block__, _, stmts} when is_list(stmts) -> stmts
        nil -> []
        stmt -> [stmt]
      end

    doc = %{pending: nil, documented: MapSet.new()}

    {acc, ctx, _doc} =
      Enum.reduce(stmts, {acc, ctx, doc}, fn stmt, {acc, ctx, doc} ->
        module_stmt(stmt, ctx, acc, doc)
      end)

    {acc, ctx}
  end

  defp module_stmt({:@, meta, [{:doc, _, [value]}]} = node, ctx, acc, doc) do
    acc = push(acc, :attributes, %{name: "doc", line: meta[:line]})
    acc = walk_children(node, ctx, acc)
    {acc, ctx, %{doc | pending: value != false and value != nil}}
  end

  defp module_stmt({kind, meta, [head | rest]} = node, ctx, acc, doc) when kind in @def_kinds do
    case def_name_arity(head) do
      {name, arity} ->
        key = {name, arity}

        has_doc =
          case doc.pending do
            nil -> MapSet.member?(doc.documented, key)
            value -> value
          end

        documented = if has_doc, do: MapSet.put(doc.documented, key), else: doc.documented

        entry = %{
          module: ctx.module,
          kind: Atom.to_string(kind),
          name: Atom.to_string(name),
          arity: arity,
          line: meta[:line],
          end_line: end_line(meta, node),
          head: source_line(ctx.lines, meta[:line]),
          has_doc: has_doc
        }

        acc = push(acc, :defs, entry)
        acc = walk(head, ctx, acc)
        {acc, _} = def_body(rest, ctx, acc)
        {acc, ctx, %{doc | pending: nil, documented: documented}}

      nil ->
        {acc, ctx} = stmt(node, ctx, acc)
        {acc, ctx, doc}
    end
  end

  defp module_stmt(node, ctx, acc, doc) do
    {acc, ctx} = stmt(node, ctx, acc)
    {acc, ctx, doc}
  end

  defp def_body([opts | _], ctx, acc) when is_list(opts) do
    Enum.reduce(opts, {acc, ctx}, fn
      {_key, body}, {acc, ctx} ->
        {acc, _} = block(body, ctx, acc)
        {acc, ctx}

      other, {acc, ctx} ->
        {walk(other, ctx, acc), ctx}
    end)
  end

  defp def_body(rest, ctx, acc), do: {walk(rest, ctx, acc), ctx}

  defp def_name_arity({:when, _, [call | _]}), do: def_name_arity(call)

  defp def_name_arity({name, _, args}) when is_atom(name) and is_list(args),
    do: {name, length(args)}

  defp def_name_arity({name, _, ctx}) when is_atom(name) and is_atom(ctx), do: {name, 0}
  defp def_name_arity(_), do: nil

  defp has_moduledoc?(body) do
    stmts =
      case body do
        {:__block__, _, stmts} when is_list(stmts) -> stmts
        nil -> []
        stmt -> [stmt]
      end

    Enum.any?(stmts, &match?({:@, _, [{:moduledoc, _, [_]}]}, &1))
  end

  # Generic traversal: records attributes, nested modules/defs via stmt/3, and remote calls.
  defp walk({:|>, _, [left, right]}, ctx, acc) do
    acc = walk(left, ctx, acc)
    walk_call(right, ctx, acc, 1)
  end

  defp walk({:&, _, [{:/, _, [{{:., _, [_mod, fun]}, _, []} = call, arity]}]}, ctx, acc)
       when is_atom(fun) and is_integer(arity) do
    walk_call(call, ctx, acc, arity)
  end

  defp walk({:@, meta, [{name, _, [_value]} = inner]}, ctx, acc) when is_atom(name) do
    acc = push(acc, :attributes, %{name: Atom.to_string(name), line: meta[:line]})
    walk_children(inner, ctx, acc)
  end

  defp walk({kind, _, [_ | _]} = node, ctx, acc)
       when kind in [:defmodule, :alias, :import, :require, :use] do
    {acc, _ctx} = stmt(node, ctx, acc)
    acc
  end

  defp walk({:__block__, _, _} = node, ctx, acc) do
    {acc, _ctx} = block(node, ctx, acc)
    acc
  end

  defp walk({kind, _, [_ | _]} = node, ctx, acc) when kind in @def_kinds do
    {acc, _, _} = module_stmt(node, ctx, acc, %{pending: nil, documented: MapSet.new()})
    acc
  end

  defp walk(node, ctx, acc), do: walk_call(node, ctx, acc, 0)

  # `extra` is the arity added by a pipe; for captures it is the explicit arity.
  defp walk_call({{:., dot_meta, [mod, fun]}, meta, args}, ctx, acc, extra)
       when is_atom(fun) and is_list(args) do
    acc =
      case remote_module(mod, ctx) do
        {name, line, column} ->
          # Erlang module atoms (`:os`) carry no metadata: step back from the dot.
          column =
            column ||
              case dot_meta[:column] do
                c when is_integer(c) -> max(c - String.length(name), 1)
                _ -> meta[:column]
              end

          push(acc, :remote_calls, %{
            module: name,
            function: Atom.to_string(fun),
            arity: length(args) + extra,
            line: line || dot_meta[:line] || meta[:line],
            column: column
          })

        nil ->
          walk(mod, ctx, acc)
      end

    walk(args, ctx, acc)
  end

  defp walk_call(node, ctx, acc, _extra), do: walk_children(node, ctx, acc)

  defp walk_children({form, _, args}, ctx, acc) do
    acc = if is_atom(form), do: acc, else: walk(form, ctx, acc)
    if is_list(args), do: walk(args, ctx, acc), else: acc
  end

  defp walk_children({left, right}, ctx, acc), do: walk(right, ctx, walk(left, ctx, acc))

  defp walk_children(list, ctx, acc) when is_list(list),
    do: Enum.reduce(list, acc, &walk(&1, ctx, &2))

  defp walk_children(_leaf, _ctx, acc), do: acc

  defp remote_module({:__aliases__, meta, _} = ast, ctx),
    do: {module_name(ast, ctx), meta[:line], meta[:column]}

  defp remote_module({:__MODULE__, meta, ctx_atom}, ctx)
       when is_atom(ctx_atom) and ctx.module != nil,
       do: {ctx.module, meta[:line], meta[:column]}

  defp remote_module(atom, _ctx) when is_atom(atom) and atom not in [nil, true, false] do
    {module_text(atom), nil, nil}
  end

  defp remote_module(_other, _ctx), do: nil

  defp module_text(atom) do
    case Atom.to_string(atom) do
      "Elixir." <> rest -> rest
      _ -> inspect(atom)
    end
  end

  defp module_name({:__aliases__, _, [{:__MODULE__, _, _} | rest]}, ctx),
    do: Enum.join([ctx.module || "__MODULE__" | Enum.map(rest, &to_string/1)], ".")

  defp module_name({:__aliases__, _, [first | rest] = parts}, ctx) when is_atom(first) do
    case Map.fetch(ctx.aliases, Atom.to_string(first)) do
      {:ok, full} -> Enum.join([full | Enum.map(rest, &Atom.to_string/1)], ".")
      :error -> Enum.map_join(parts, ".", &to_string/1)
    end
  end

  defp module_name({:__MODULE__, _, ctx_atom}, ctx) when is_atom(ctx_atom),
    do: ctx.module || "__MODULE__"

  defp module_name(atom, _ctx) when is_atom(atom), do: module_text(atom)
  defp module_name(other, _ctx), do: Macro.to_string(other)

  defp erlang_module?(atom) when is_atom(atom), do: true
  defp erlang_module?(_), do: false

  defp end_line(meta, node) do
    case meta[:end] do
      end_meta when is_list(end_meta) -> end_meta[:line]
      _ -> max_line(node, meta[:line])
    end
  end

  defp max_line({form, meta, args}, best) when is_list(meta) do
    best = max_meta(meta, best)
    best = if is_atom(form), do: best, else: max_line(form, best)
    if is_list(args), do: max_line(args, best), else: best
  end

  defp max_line({left, right}, best), do: max_line(right, max_line(left, best))
  defp max_line(list, best) when is_list(list), do: Enum.reduce(list, best, &max_line/2)
  defp max_line(_, best), do: best

  defp max_meta(meta, best) do
    Enum.reduce(
      [meta, meta[:closing] || [], meta[:end] || [], meta[:end_of_expression] || []],
      best,
      fn m, b ->
        case Keyword.get(m, :line) do
          l when is_integer(l) and l > b -> l
          _ -> b
        end
      end
    )
  end

  defp source_line(lines, line) when is_integer(line) and line >= 1 and line <= tuple_size(lines),
    do: lines |> elem(line - 1) |> String.trim()

  defp source_line(_lines, _line), do: ""

  defp push(acc, key, item), do: Map.update!(acc, key, &[item | &1])
end
