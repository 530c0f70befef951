# Credo-mirroring checks of the Readability category.

defmodule ElixirCoder.Rules.CredoNames do
  @moduledoc false
  alias ElixirCoder.Rules.AST

  @doc "Credo-style snake_case test (leading underscores and a trailing ?/! allowed)."
  def snake_case?(name) when is_binary(name) do
    String.match?(name, ~r/^[[:lower:][:digit:]_?!]+$/u) or no_case?(name)
  end

  # names without any cased letter or digit (e.g. `_`) count as fine, as in Credo
  def no_case?(name), do: String.match?(name, ~r/^[^a-zA-Z0-9]+$/u)

  def pascal_case?(name), do: String.match?(name, ~r/^[A-Z][a-zA-Z0-9]*$/)

  @doc "Every def-like node with its head: [{op, name, head_meta, args}]."
  def defs(ast, ops) do
    AST.find_all(ast, fn
      {op, _, [_ | _]} -> op in ops
      _ -> false
    end)
    |> Enum.flat_map(fn {op, _, _} = node ->
      case AST.def_head(node) do
        {name, meta, args} when is_atom(name) and is_list(meta) ->
          if operator?(name) or name == :unquote, do: [], else: [{op, name, meta, args}]

        _ ->
          []
      end
    end)
  end

  defp operator?(name), do: not String.match?(Atom.to_string(name), ~r/^[\w?!]+$/u)
end

defmodule ElixirCoder.Rules.Credo.Readability.ModuleDoc do
  use ElixirCoder.Rules.CredoRule, priority: 0

  @default_ignore ~r/(\.\w+Controller|\.Endpoint|\.\w+Live(\.\w+)?|\.Repo|\.Router|\.\w+Socket|\.\w+View|\.\w+HTML|\.\w+JSON|\.Telemetry|\.Layouts|\.Mailer)$/

  def check(ctx) do
    if is_binary(ctx.filename) and String.ends_with?(ctx.filename, ".exs") do
      []
    else
      ignore = ignore_patterns(ctx.params["ignore_names"])

      ctx
      |> AST.find_all(&match?({:defmodule, _, [_, [{_, _}]]}, &1))
      # as in Credo, once a module is ignored by name the rest of the file is not examined
      |> Enum.reduce_while([], fn {:defmodule, meta, [_, [{_, body}]]} = node, acc ->
        name = AST.module_name(node)

        cond do
          Enum.any?(ignore, &ignored?(name, &1)) -> {:halt, acc}
          exception?(body) -> {:cont, acc}
          true ->
            case moduledoc(body) do
              :missing -> {:cont, [{meta, name, "Modules should have a @moduledoc tag."} | acc]}
              "" -> {:cont, [{meta, name, "Use `@moduledoc false` if a module will not be documented."} | acc]}
              _ -> {:cont, acc}
            end
        end
      end)
      |> Enum.reverse()
      |> Enum.map(fn {meta, name, message} ->
        issue(ctx, line: meta[:line], trigger: name, message: message, fix: fix(ctx, meta, message))
      end)
    end
  end

  defp ignore_patterns(nil), do: [@default_ignore]
  defp ignore_patterns(list) when is_list(list), do: list
  defp ignore_patterns(one), do: [one]

  defp ignored?(name, %Regex{} = re), do: Regex.match?(re, name)

  defp ignored?(name, pattern) when is_binary(pattern) do
    case Regex.compile(pattern) do
      {:ok, re} -> Regex.match?(re, name)
      _ -> String.contains?(name, pattern)
    end
  end

  defp ignored?(_name, _), do: false

  defp moduledoc(body) do
    body
    |> AST.statements()
    |> Enum.find_value(:missing, fn
      {:@, _, [{:moduledoc, _, [value]}]} when is_binary(value) -> String.trim(value)
      {:@, _, [{:moduledoc, _, _}]} -> :present
      _ -> nil
    end)
  end

  defp exception?(body), do: body |> AST.statements() |> Enum.any?(&match?({:defexception, _, _}, &1))

  defp fix(ctx, meta, "Modules should have" <> _) do
    case meta[:do] do
      do_meta when is_list(do_meta) -> do_fix(ctx, meta, do_meta[:line])
      _ -> nil
    end
  end

  defp fix(_ctx, _meta, _message), do: nil

  defp do_fix(ctx, meta, do_line) do
    text = AST.line_text(ctx, meta[:line])
    indent = text |> String.split(~r/\S/, parts: 2) |> hd()
    next = AST.line_text(ctx, do_line + 1) |> String.trim()
    sep = if next == "" or next == "end", do: "", else: "\n"

    Fix.fix("Add @moduledoc false", [
      Fix.edit({do_line + 1, 1}, {do_line + 1, 1}, indent <> "  @moduledoc false\n" <> sep)
    ])
  end
end

defmodule ElixirCoder.Rules.Credo.Readability.ModuleNames do
  use ElixirCoder.Rules.CredoRule, priority: 10

  def check(ctx) do
    AST.find_all(ctx, &match?({:defmodule, _, [{:__aliases__, _, _} | _]}, &1))
    |> Enum.flat_map(fn {:defmodule, _, [{:__aliases__, meta, parts} | _]} = node ->
      names = for p <- parts, is_atom(p), do: Atom.to_string(p)

      if Enum.all?(names, &ElixirCoder.Rules.CredoNames.pascal_case?/1) do
        []
      else
        name = AST.module_name(node)

        [issue(ctx, line: meta[:line], column: meta[:column], trigger: name,
           message: "Module names should be written in PascalCase.")]
      end
    end)
  end
end

defmodule ElixirCoder.Rules.Credo.Readability.FunctionNames do
  use ElixirCoder.Rules.CredoRule, priority: 10
  alias ElixirCoder.Rules.CredoNames

  def check(ctx) do
    ctx
    |> CredoNames.defs([:def, :defp, :defmacro, :defmacrop, :defguard, :defguardp])
    |> Enum.reject(fn {_op, name, _, _} -> sigil?(name) or CredoNames.snake_case?(Atom.to_string(name)) end)
    |> Enum.uniq_by(fn {op, name, _, args} -> {op, name, length(List.wrap(args))} end)
    |> Enum.map(fn {_op, name, meta, _} ->
      issue(ctx,
        line: meta[:line],
        column: meta[:column],
        trigger: Atom.to_string(name),
        message: "Function/macro/guard names should be written in snake_case."
      )
    end)
  end

  defp sigil?(name), do: String.match?(Atom.to_string(name), ~r/^sigil_[a-zA-Z]+$/)
end

defmodule ElixirCoder.Rules.Credo.Readability.PredicateFunctionNames do
  use ElixirCoder.Rules.CredoRule, priority: 10
  alias ElixirCoder.Rules.CredoNames

  def check(ctx) do
    ctx
    |> CredoNames.defs([:def, :defp, :defmacro])
    # guard-style macros are meant to be called is_foo; only is_foo? is wrong for them
    |> Enum.filter(fn {op, name, _, _} ->
      n = Atom.to_string(name)
      String.starts_with?(n, "is_") and (op != :defmacro or String.ends_with?(n, "?"))
    end)
    |> Enum.uniq_by(fn {_op, name, _, args} -> {name, length(List.wrap(args))} end)
    |> Enum.map(fn {_op, name, meta, _} ->
      issue(ctx,
        line: meta[:line],
        column: meta[:column],
        trigger: Atom.to_string(name),
        message: "Predicate function names should not start with 'is', and should end in a question mark."
      )
    end)
  end
end

defmodule ElixirCoder.Rules.Credo.Readability.VariableNames do
  use ElixirCoder.Rules.CredoRule, priority: 10
  alias ElixirCoder.Rules.CredoNames

  @special [:__CALLER__, :__DIR__, :__ENV__, :__MODULE__]

  # Credo looks at match left sides, clause heads, generator patterns and (a quirk it has) the
  # first parameter of two-parameter def/defp heads.
  def check(ctx) do
    ctx
    |> AST.walk([], fn
      {:=, _, [lhs, _]}, _p, acc -> vars(lhs) ++ acc
      {:->, _, [lhs, _]}, _p, acc -> vars(lhs) ++ acc
      {:<-, _, [{:|, _, [_, rhs]}, _]}, _p, acc -> vars(rhs) ++ acc
      {:<-, _, [lhs, _]}, _p, acc -> vars(lhs) ++ acc
      {op, _, [{_f, _m, [lhs, _]}, _]}, _p, acc when op in [:def, :defp] -> vars(lhs) ++ acc
      _, _, acc -> acc
    end)
    |> Enum.reject(fn {name, _} -> name in @special or CredoNames.snake_case?(Atom.to_string(name)) end)
    |> Enum.uniq_by(fn {_name, meta} -> {meta[:line], meta[:column]} end)
    |> Enum.sort_by(fn {_name, meta} -> {meta[:line], meta[:column]} end)
    |> Enum.map(fn {name, meta} ->
      issue(ctx,
        line: meta[:line],
        column: meta[:column],
        trigger: Atom.to_string(name),
        message: "Variable names should be written in snake_case."
      )
    end)
  end

  defp vars({name, meta, nil}) when is_atom(name) and is_list(meta), do: [{name, meta}]
  defp vars(list) when is_list(list), do: Enum.flat_map(list, &vars/1)
  defp vars(tuple) when is_tuple(tuple), do: tuple |> Tuple.to_list() |> Enum.flat_map(&vars/1)
  defp vars(_), do: []
end

defmodule ElixirCoder.Rules.Credo.Readability.ModuleAttributeNames do
  use ElixirCoder.Rules.CredoRule, priority: 10
  alias ElixirCoder.Rules.CredoNames

  def check(ctx) do
    AST.find_all(ctx, &match?({:@, _, [{name, _, [_]}]} when is_atom(name), &1))
    |> Enum.reject(fn {:@, _, [{name, _, _}]} -> CredoNames.snake_case?(Atom.to_string(name)) end)
    |> Enum.map(fn {:@, meta, [{name, _, _}]} ->
      issue(ctx,
        line: meta[:line],
        column: meta[:column],
        trigger: "@#{name}",
        message: "Module attribute names should be written in snake_case."
      )
    end)
  end
end

defmodule ElixirCoder.Rules.Credo.Readability.LargeNumbers do
  use ElixirCoder.Rules.CredoRule, priority: 10, params: %{only_greater_than: 9999, trailing_digits: []}

  def check(ctx) do
    limit = ctx.params["only_greater_than"] || 9999
    trailing = ctx.params["trailing_digits"] |> List.wrap() |> Enum.filter(&is_integer/1)

    ctx
    |> AST.tokens()
    |> Enum.flat_map(fn
      {kind, {line, col, value}, orig} when kind in [:int, :flt] and is_list(orig) and is_number(value) ->
        text = List.to_string(orig)

        with true <- value > limit,
             false <- String.match?(text, ~r/^0[xob]/),
             versions <- versions(text, trailing),
             false <- text in versions do
          [expected | _] = versions

          [
            issue(ctx,
              line: line,
              column: col,
              trigger: text,
              message: "Numbers larger than #{limit} should be written with underscores: #{Enum.join(versions, " or ")}",
              fix: Fix.fix("Write #{expected}", [Fix.edit({line, col}, {line, col + String.length(text)}, expected)])
            )
          ]
        else
          _ -> []
        end

      _ ->
        []
    end)
  end

  # the accepted spellings: groups of three, optionally with N trailing digits split off
  defp versions(text, trailing) do
    {int, rest} =
      case Regex.run(~r/^([\d_]+)(.*)$/s, text) do
        [_, i, r] -> {i, r}
        _ -> {text, ""}
      end

    digits = String.replace(int, "_", "")

    extra =
      for t <- trailing, String.length(digits) > t do
        {base, tail} = String.split_at(digits, String.length(digits) - t)
        group(base) <> "_" <> tail
      end

    Enum.uniq([group(digits) | extra]) |> Enum.map(&(&1 <> rest))
  end

  defp group(digits) do
    digits
    |> String.reverse()
    |> String.graphemes()
    |> Enum.chunk_every(3)
    |> Enum.map(&Enum.join/1)
    |> Enum.join("_")
    |> String.reverse()
  end
end

defmodule ElixirCoder.Rules.Credo.Readability.MaxLineLength do
  use ElixirCoder.Rules.CredoRule,
    priority: -10,
    line_based: true,
    params: %{
      max_length: 120,
      ignore_definitions: true,
      ignore_heredocs: true,
      ignore_specs: false,
      ignore_sigils: true,
      ignore_strings: true,
      ignore_urls: true
    }

  @url ~r/[-a-zA-Z0-9@:%._\+~#=]{2,256}\.[a-z]{2,6}\b([-a-zA-Z0-9@:%_\+.~#?&\/\/=]*)/

  def check(ctx) do
    p = ctx.params
    max = p["max_length"] || 120
    kinds = if(p["ignore_heredocs"] != false, do: [:heredoc], else: []) ++ if(p["ignore_sigils"] != false, do: [:sigil], else: [])
    cmp_kinds = if p["ignore_strings"] != false, do: kinds ++ [:string], else: kinds

    # blanking only shortens lines, so only lines already too long need a closer look
    long =
      for n <- 1..tuple_size(ctx.lines), String.length(AST.line_text(ctx, n)) > max, do: n

    if long == [] do
      []
    else
      defs = if p["ignore_definitions"] != false, do: def_lines(ctx), else: MapSet.new()
      specs = if p["ignore_specs"] == true, do: spec_lines(ctx), else: MapSet.new()

      Enum.flat_map(long, fn n ->
        cmp = AST.blank_line(ctx, n, cmp_kinds)

        cond do
          String.length(cmp) <= max -> []
          p["ignore_urls"] != false and Regex.match?(@url, cmp) -> []
          MapSet.member?(defs, n) or MapSet.member?(specs, n) -> []
          true ->
            line = AST.blank_line(ctx, n, kinds)
            len = String.length(line)
            trigger = String.slice(line, max, len - max)
            col = AST.cp_len(String.slice(line, 0, max)) + 1

            [issue(ctx, line: n, column: col, end_column: col + AST.cp_len(trigger), trigger: trigger,
               message: "Line is too long (max is #{max}, was #{len}).")]
        end
      end)
    end
  end

  defp def_lines(%{ast: nil}), do: MapSet.new()

  defp def_lines(ctx) do
    AST.find_all(ctx, &match?({op, _, a} when op in [:def, :defp, :defmacro] and is_list(a), &1))
    |> MapSet.new(&AST.line/1)
  end

  defp spec_lines(%{ast: nil}), do: MapSet.new()
  defp spec_lines(ctx), do: AST.find_all(ctx, &match?({:spec, _, a} when is_list(a), &1)) |> MapSet.new(&AST.line/1)
end

defmodule ElixirCoder.Rules.Credo.Readability.TrailingWhiteSpace do
  use ElixirCoder.Rules.CredoRule, priority: -10, line_based: true, params: %{ignore_strings: true}

  def check(ctx) do
    skip_literals? = ctx.params["ignore_strings"] != false

    ctx.lines
    |> Tuple.to_list()
    |> Enum.with_index(1)
    |> Enum.flat_map(fn {text, n} ->
      case Regex.run(~r/[ \t]+$/u, text, return: :index) do
        [{byte, len}] ->
          col = AST.cp_len(binary_part(text, 0, byte)) + 1

          if skip_literals? and AST.in_literal?(ctx, {n, col}, [:string, :charlist, :heredoc, :sigil]) do
            []
          else
            [
              issue(ctx,
                line: n,
                column: col,
                end_column: col + len,
                trigger: String.duplicate(" ", len),
                message: "There should be no trailing white-space at the end of a line.",
                fix: Fix.fix("Remove trailing whitespace", [Fix.edit({n, col}, {n, col + len}, "")])
              )
            ]
          end

        _ ->
          []
      end
    end)
  end
end

defmodule ElixirCoder.Rules.Credo.Readability.ParenthesesOnZeroArityDefs do
  use ElixirCoder.Rules.CredoRule, priority: -10, params: %{parens: false}

  def check(ctx) do
    want_parens = ctx.params["parens"] == true

    ctx
    |> ElixirCoder.Rules.CredoNames.defs([:def, :defp, :defmacro, :defmacrop])
    |> Enum.flat_map(fn {_op, name, meta, args} ->
      name_s = Atom.to_string(name)

      cond do
        args == [] and not want_parens ->
          [
            issue(ctx,
              line: meta[:line],
              column: meta[:column],
              trigger: name_s,
              message: "Do not use parentheses when defining a function which has no arguments.",
              fix: remove_parens(meta, name_s)
            )
          ]

        args == nil and want_parens ->
          [issue(ctx, line: meta[:line], column: meta[:column], trigger: name_s,
             message: "Use parentheses () when defining a function which has no arguments.")]

        true ->
          []
      end
    end)
  end

  defp remove_parens(meta, name) do
    line = meta[:line]

    case meta[:closing] do
      [line: ^line, column: c] ->
        open = meta[:column] + String.length(name)
        Fix.fix("Remove the empty parentheses", [Fix.edit({line, open}, {line, c + 1}, "")])

      _ ->
        nil
    end
  end
end

defmodule ElixirCoder.Rules.Credo.Readability.AliasOrder do
  use ElixirCoder.Rules.CredoRule, priority: -10

  def check(ctx) do
    AST.find_all(ctx, &match?({:defmodule, _, [_, [{_, _}]]}, &1))
    |> Enum.flat_map(fn {:defmodule, _, [_, [{_, body}]]} ->
      stmts = AST.statements(body)
      groups = groups(stmts)
      Enum.flat_map(groups, &group_issue(ctx, &1)) ++ Enum.flat_map(stmts, &multi_issue(ctx, &1))
    end)
    |> Enum.sort_by(& &1.line)
  end

  # consecutive alias statements on consecutive lines
  defp groups(stmts) do
    stmts
    |> Enum.chunk_while([], fn s, acc ->
      case {alias_info(s), acc} do
        {nil, []} -> {:cont, []}
        {nil, acc} -> {:cont, Enum.reverse(acc), []}
        {info, []} -> {:cont, [info]}
        {info, [prev | _] = acc} -> if info.line == prev.last_line + 1, do: {:cont, [info | acc]}, else: {:cont, Enum.reverse(acc), [info]}
      end
    end, fn
      [] -> {:cont, []}
      acc -> {:cont, Enum.reverse(acc), []}
    end)
  end

  defp alias_info({:alias, meta, [{:__aliases__, ameta, parts} | _]}) do
    %{line: meta[:line], last_line: meta[:line], name: join(parts), meta: ameta}
  end

  defp alias_info({:alias, meta, [{{:., _, [{:__aliases__, ameta, parts}, :{}]}, cmeta, _} | _]}) do
    last = if c = cmeta[:closing], do: c[:line], else: meta[:line]
    %{line: meta[:line], last_line: last, name: join(parts), meta: ameta}
  end

  defp alias_info(_), do: nil

  defp join(parts), do: Enum.map_join(parts, ".", &name_part/1)
  defp name_part(p) when is_atom(p), do: Atom.to_string(p)
  defp name_part({:__MODULE__, _, _}), do: "__MODULE__"
  defp name_part(_), do: "?"

  defp key(name), do: String.downcase(name)

  defp group_issue(ctx, group) do
    group
    |> Enum.chunk_every(2, 1, :discard)
    |> Enum.find(fn [a, b] -> key(a.name) > key(b.name) end)
    |> case do
      nil ->
        []

      [a, _] ->
        [issue(ctx, line: a.meta[:line], column: a.meta[:column], trigger: a.name,
           message: "The alias `#{a.name}` is not alphabetically ordered among its group.")]
    end
  end

  defp multi_issue(ctx, {:alias, _, [{{:., _, [{:__aliases__, _, base}, :{}]}, _, inner} | _]}) do
    names = for {:__aliases__, m, parts} <- inner, do: {join(parts), m}

    names
    |> Enum.chunk_every(2, 1, :discard)
    |> Enum.find(fn [{a, _}, {b, _}] -> key(a) > key(b) end)
    |> case do
      nil ->
        []

      [{a, m}, _] ->
        [issue(ctx, line: m[:line], column: m[:column], trigger: a,
           message: "The alias `#{join(base)}.#{a}` is not alphabetically ordered among its group.")]
    end
  end

  defp multi_issue(_ctx, _), do: []
end

defmodule ElixirCoder.Rules.Credo.Readability.PreferImplicitTry do
  use ElixirCoder.Rules.CredoRule, priority: -10

  def check(ctx) do
    AST.find_all(ctx, &match?({op, _, [_, [{_, {:try, _, _}}]]} when op in [:def, :defp, :defmacro, :defmacrop], &1))
    |> Enum.map(fn {_, _, [_, [{_, {:try, meta, _}}]]} ->
      issue(ctx, line: meta[:line], column: meta[:column], trigger: "try",
        message: "Prefer using an implicit `try` rather than explicit `try`.")
    end)
  end
end

defmodule ElixirCoder.Rules.Credo.Readability.WithSingleClause do
  use ElixirCoder.Rules.CredoRule, priority: 0

  def check(ctx) do
    AST.find_all(ctx, &match?({:with, _, args} when is_list(args), &1))
    |> Enum.filter(fn {:with, _, args} = node ->
      arrows = Enum.count(args, &match?({:<-, _, _}, &1))
      arrows == 1 and Keyword.has_key?(AST.block_kw(node), :else)
    end)
    |> Enum.map(fn {:with, meta, _} ->
      issue(ctx, line: meta[:line], column: meta[:column], trigger: "with",
        message: "`with` contains only one <- clause and an `else` branch, consider using `case` instead")
    end)
  end
end

defmodule ElixirCoder.Rules.Credo.Readability.StringSigils do
  use ElixirCoder.Rules.CredoRule, priority: -10, params: %{maximum_allowed_quotes: 3}

  # As Credo: a string literal that is the first argument of a call or operator (sigils and
  # heredocs excluded; interpolations count as spaces), reported on the call's line.
  def check(ctx) do
    max = ctx.params["maximum_allowed_quotes"] || 3

    AST.find_all(ctx, &match?({form, _, [_ | _]} when form != :<<>>, &1))
    |> Enum.reject(fn {form, _, _} -> is_atom(form) and String.starts_with?(Atom.to_string(form), "sigil_") end)
    |> Enum.flat_map(fn {_, meta, [first | _]} ->
      # the token lookup (position, heredoc or not) is only paid for strings with too many quotes
      with {parts, _} <- literal_parts(first),
           text = Enum.map_join(parts, &part_text/1),
           true <- count_quotes(text) > max,
           {_, str_pos} <- literal(ctx, first, meta) do
        line = meta[:line]

        {col, end_line, end_col} =
          case str_pos do
            {^line, c} ->
              {l2, c2} = literal_end(ctx, line, c)
              {c, l2, c2}

            _ ->
              {meta[:column], line, meta[:column] && meta[:column] + 1}
          end

        [
          issue(ctx,
            line: line,
            column: col,
            end_line: end_line,
            end_column: end_col,
            trigger: text,
            message: "More than #{max} quotes found inside string literal, consider using a sigil instead."
          )
        ]
      else
        _ -> []
      end
    end)
  end

  defp literal_parts(s) when is_binary(s), do: {[s], nil}
  defp literal_parts({:<<>>, m, parts}) when is_list(parts), do: if(m[:delimiter] == "\"", do: {parts, m}, else: nil)
  defp literal_parts(_), do: nil

  defp count_quotes(text), do: text |> String.to_charlist() |> Enum.count(&(&1 == ?"))

  # {parts, position of the opening quote} for a "..." literal, nil for heredocs and anything else
  defp literal(ctx, s, meta) when is_binary(s) do
    case same_string_token(ctx, meta[:line], s) || next_string_token(ctx, {meta[:line], meta[:column] || 1}) do
      {:bin_string, pos} -> {[s], pos}
      {:bin_heredoc, _} -> nil
      nil -> {[s], nil}
    end
  end

  defp literal(_ctx, {:<<>>, m, parts}, _meta) when is_list(parts) do
    if m[:delimiter] == "\"", do: {parts, {m[:line], m[:column]}}, else: nil
  end

  defp literal(_ctx, _, _), do: nil

  # a "..." token on the call's line whose value is this string (operands may precede the operator)
  defp same_string_token(ctx, line, s) do
    ctx
    |> AST.tokens()
    |> Enum.find(fn
      {:bin_string, {^line, _, _}, [value]} -> value == s
      _ -> false
    end)
    |> case do
      nil -> nil
      t -> {:bin_string, AST.token_pos(t)}
    end
  end

  defp next_string_token(ctx, from) do
    ctx
    |> AST.tokens()
    |> Enum.find(fn t -> elem(t, 0) in [:bin_string, :bin_heredoc] and (AST.token_pos(t) || {0, 0}) >= from end)
    |> case do
      nil -> nil
      t -> {elem(t, 0), AST.token_pos(t)}
    end
  end

  # the literal's range from the lexer: content starts right after the opening quote
  defp literal_end(ctx, line, col) do
    case Enum.find(AST.regions(ctx), fn {k, s, _} -> k == :string and s == {line, col + 1} end) do
      {_, _, {l2, c2}} -> {l2, c2 + 1}
      nil -> {line, AST.cp_len(AST.line_text(ctx, line)) + 1}
    end
  end

  defp part_text(s) when is_binary(s), do: s

  defp part_text({:"::", m, [{_, cm, _} | _]}) do
    line = m[:line]

    case cm[:closing] do
      [line: ^line, column: c] -> String.duplicate(" ", c - m[:column] + 1)
      _ -> " "
    end
  end

  defp part_text(_), do: ""
end

defmodule ElixirCoder.Rules.Credo.Readability.RedundantBlankLines do
  use ElixirCoder.Rules.CredoRule, priority: -10, line_based: true, params: %{max_blank_lines: 1}

  # As Credo: a line is blank when it is empty (literal contents do not count as blank), and
  # every blank line beyond `max_blank_lines` in a row is reported on its own.
  def check(ctx) do
    max = ctx.params["max_blank_lines"] || 1
    kinds = [:string, :charlist, :heredoc, :sigil]

    blank =
      for n <- 1..tuple_size(ctx.lines),
          AST.line_text(ctx, n) == "",
          not AST.in_literal?(ctx, {n, 1}, kinds),
          do: n

    blank
    |> Enum.chunk_while([], fn n, acc ->
      case acc do
        [prev | _] when n == prev + 1 -> {:cont, [n | acc]}
        [] -> {:cont, [n]}
        _ -> {:cont, Enum.reverse(acc), [n]}
      end
    end, fn
      [] -> {:cont, []}
      acc -> {:cont, Enum.reverse(acc), []}
    end)
    |> Enum.flat_map(&Enum.drop(&1, max))
    |> Enum.map(fn n ->
      issue(ctx,
        line: n,
        column: 1,
        end_column: 1,
        trigger: nil,
        message: "There should be no more than #{max} consecutive blank lines.",
        fix: Fix.fix("Remove the extra blank line", [Fix.delete_lines(ctx, n, n)])
      )
    end)
  end
end

defmodule ElixirCoder.Rules.Credo.Readability.TrailingBlankLine do
  use ElixirCoder.Rules.CredoRule, priority: -10, line_based: true

  def check(ctx) do
    n = tuple_size(ctx.lines)
    last = elem(ctx.lines, n - 1)

    if String.trim(last) != "" do
      col = AST.cp_len(last) + 1

      [
        issue(ctx,
          line: n,
          column: col,
          end_column: col,
          trigger: nil,
          message: "There should be a final \\n at the end of each file.",
          fix: Fix.fix("Add a final newline", [Fix.edit({n, col}, {n, col}, "\n")])
        )
      ]
    else
      []
    end
  end
end

defmodule ElixirCoder.Rules.Credo.Readability.Semicolons do
  use ElixirCoder.Rules.CredoRule, priority: 10

  def check(ctx) do
    ctx
    |> AST.tokens()
    |> Enum.filter(&match?({:";", _}, &1))
    |> Enum.map(fn tok ->
      {l, c} = AST.token_pos(tok)
      issue(ctx, line: l, column: c, trigger: ";", message: "Don't use ; to separate statements and expressions.")
    end)
  end
end

defmodule ElixirCoder.Rules.Credo.Readability.SpaceAfterCommas do
  use ElixirCoder.Rules.CredoRule, priority: 0

  def check(ctx) do
    ctx
    |> AST.tokens()
    |> Enum.filter(&match?({:",", _}, &1))
    |> Enum.flat_map(fn tok ->
      {l, c} = AST.token_pos(tok)
      next = ctx |> AST.line_text(l) |> AST.cp_slice(c, 1)

      if next in ["", " ", "\t", "\r"] do
        []
      else
        [
          issue(ctx,
            line: l,
            column: c,
            end_column: c + 2,
            trigger: "," <> next,
            message: "Space missing after comma.",
            fix: Fix.fix("Add a space after the comma", [Fix.edit({l, c + 1}, {l, c + 1}, " ")])
          )
        ]
      end
    end)
  end
end

defmodule ElixirCoder.Rules.Credo.Readability.UnnecessaryAliasExpansion do
  use ElixirCoder.Rules.CredoRule, priority: -10

  def check(ctx) do
    AST.find_all(ctx, &match?({:alias, _, [{{:., _, [{:__aliases__, _, _}, :{}]}, _, [_]} | _]}, &1))
    |> Enum.map(fn {:alias, _, [{{:., _, [{:__aliases__, meta, base}, :{}]}, _, [{:__aliases__, _, inner}]} | _]} ->
      name = Enum.map_join(base, ".", &to_string/1)
      trigger = "{" <> Enum.map_join(inner, ".", &to_string/1) <> "}"

      issue(ctx, line: meta[:line], trigger: trigger,
        message: "Unnecessary alias expansion for #{name}, consider removing braces.")
    end)
  end
end

defmodule ElixirCoder.Rules.Credo.Readability.ParenthesesInCondition do
  use ElixirCoder.Rules.CredoRule, priority: 10

  # `if (cond) do` / `unless (cond), do:` where the parentheses wrap the whole condition
  def check(ctx) do
    find(AST.tokens(ctx), ctx, [])
  end

  defp find([{:identifier, {l, c, _}, op}, {:"(", {pl, pc, _}} | rest], ctx, acc) when op in [:if, :unless] do
    case matching_close(rest, 0) do
      {{cl, cc}, [next | _]} when elem(next, 0) in [:do, :","] ->
        kw = Atom.to_string(op)

        fix =
          Fix.fix("Remove the parentheses around the condition", [
            Fix.edit({pl, pc}, {pl, pc + 1}, ""),
            Fix.edit({cl, cc}, {cl, cc + 1}, "")
          ])

        found =
          issue(ctx, line: l, column: c, trigger: kw,
            message: "The condition of `#{kw}` should not be wrapped in parentheses.", fix: fix)

        find(rest, ctx, [found | acc])

      _ ->
        find(rest, ctx, acc)
    end
  end

  defp find([_ | rest], ctx, acc), do: find(rest, ctx, acc)
  defp find([], _ctx, acc), do: Enum.reverse(acc)

  defp matching_close([], _depth), do: nil
  defp matching_close([{:")", {l, c, _}} | rest], 0), do: {{l, c}, rest}

  defp matching_close([tok | rest], depth) do
    case elem(tok, 0) do
      k when k in [:"(", :"[", :"{", :"<<", :fn, :do] -> matching_close(rest, depth + 1)
      k when k in [:")", :"]", :"}", :">>", :end] -> matching_close(rest, depth - 1)
      _ -> matching_close(rest, depth)
    end
  end
end
