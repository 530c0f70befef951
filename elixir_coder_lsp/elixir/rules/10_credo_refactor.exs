# Credo-mirroring checks of the Refactor category.

defmodule ElixirCoder.Rules.Credo.Refactor.Nesting do
  use ElixirCoder.Rules.CredoRule, priority: 0, params: %{max_nesting: 2}

  @nest_ops [:if, :unless, :case, :cond, :fn, :for, :with]
  @blocks [:do, :else, :after, :rescue, :catch]

  def check(ctx) do
    max = ctx.params["max_nesting"] || 2

    AST.find_all(ctx, &match?({op, _, a} when op in [:def, :defp, :defmacro] and is_list(a), &1))
    |> Enum.flat_map(fn {_, meta, args} ->
      case depth(args, 0, meta[:line], nil) do
        {d, line, trigger} when d > max and is_atom(trigger) ->
          t = Atom.to_string(trigger)

          [issue(ctx, line: line, trigger: t,
             message: "Function body is nested too deep (max depth is #{max}, was #{d}).")]

        _ ->
          []
      end
    end)
  end

  # Like Credo: the deepest {depth, line, op}; only block bodies of keyword lists are entered.
  defp depth({op, meta, args}, d, _line, _trigger) when op in @nest_ops and is_list(args) do
    args |> Enum.map(&depth(&1, d + 1, meta[:line], op)) |> deepest()
  end

  defp depth({form, _meta, args}, d, line, trigger) when is_list(args) and (is_atom(form) or is_tuple(form)) do
    args |> Enum.map(&depth(&1, d, line, trigger)) |> deepest()
  end

  defp depth(list, d, line, trigger) when is_list(list) do
    list
    |> block_bodies()
    |> Enum.flat_map(fn body -> body |> List.wrap() |> Enum.map(&depth(&1, d, line, trigger)) end)
    |> deepest()
  end

  defp depth(_, d, line, trigger), do: {d, line, trigger}

  # the do/else/... bodies of a keyword block list, or of the keyword list ending an argument list
  defp block_bodies(list) do
    kw =
      cond do
        list != [] and Enum.all?(list, &match?({k, _} when is_atom(k), &1)) -> list
        match?([_ | _], list) and is_list(List.last(list)) -> List.last(list)
        true -> []
      end

    for {k, body} <- kw, k in @blocks, do: body
  end

  defp deepest(results), do: results |> Enum.reject(&is_nil/1) |> Enum.max(fn -> nil end)
end

defmodule ElixirCoder.Rules.Credo.Refactor.CyclomaticComplexity do
  use ElixirCoder.Rules.CredoRule, priority: 0, params: %{max_complexity: 9}

  @double [:if, :unless, :for, :try, :and, :or, :&&, :||]

  def check(ctx) do
    max = ctx.params["max_complexity"] || 9

    AST.find_all(ctx, &match?({op, _, a} when op in [:def, :defp, :defmacro] and is_list(a), &1))
    |> Enum.reject(&match?({:defmacro, _, [{:__using__, _, _}, _]}, &1))
    |> Enum.flat_map(fn {_, meta, _} = node ->
      cc = complexity(node)

      case AST.def_head(node) do
        {name, hmeta, _} when cc > max ->
          [issue(ctx, line: meta[:line], column: hmeta[:column], trigger: Atom.to_string(name),
             message: "Function is too complex (cyclomatic complexity is #{cc}, max is #{max}).")]

        _ ->
          []
      end
    end)
  end

  def complexity(node) do
    AST.walk(node, 0, fn
      {op, _, a}, _p, acc when op in [:def, :defp, :defmacro] and is_list(a) -> acc + 1
      {op, _, a}, _p, acc when op in @double and is_list(a) -> acc + 1
      {op, _, a} = n, _p, acc when op in [:case, :cond] and is_list(a) ->
        acc + (n |> AST.block_kw() |> Keyword.get(:do) |> List.wrap() |> length())

      _, _, acc ->
        acc
    end)
  end
end

defmodule ElixirCoder.Rules.Credo.Refactor.FunctionArity do
  use ElixirCoder.Rules.CredoRule, priority: 0, params: %{max_arity: 8, ignore_defp: false}

  def check(ctx) do
    max = ctx.params["max_arity"] || 8
    ops = if ctx.params["ignore_defp"] == true, do: [:def, :defmacro], else: [:def, :defp, :defmacro]

    ctx
    |> ElixirCoder.Rules.CredoNames.defs(ops)
    |> Enum.filter(fn {_op, _name, _meta, args} -> is_list(args) and length(args) > max end)
    |> Enum.map(fn {_op, name, meta, args} ->
      issue(ctx, line: meta[:line], column: meta[:column], trigger: Atom.to_string(name),
        message: "Function takes too many parameters (arity is #{length(args)}, max is #{max}).")
    end)
  end
end

defmodule ElixirCoder.Rules.Credo.Refactor.CondStatements do
  use ElixirCoder.Rules.CredoRule, priority: 0

  def check(ctx) do
    AST.find_all(ctx, &match?({:cond, _, [[{_, clauses}]]} when is_list(clauses), &1))
    |> Enum.filter(fn {:cond, _, [[{_, clauses}]]} ->
      length(clauses) <= 2 and Enum.any?(clauses, &catch_all?/1)
    end)
    |> Enum.map(fn {:cond, meta, _} ->
      issue(ctx, line: meta[:line], column: meta[:column], trigger: "cond",
        message: "Cond statements should contain at least two conditions besides `true`, consider using `if` instead.")
    end)
  end

  defp catch_all?({:->, _, [[true], _]}), do: true

  defp catch_all?({:->, _, [[{name, _, nil}], _]}) when is_atom(name),
    do: String.starts_with?(Atom.to_string(name), "_")

  defp catch_all?(_), do: false
end

defmodule ElixirCoder.Rules.CredoBranches do
  @moduledoc false
  alias ElixirCoder.Rules.AST

  def negation({:!, meta, [_]}), do: {"!", meta}
  def negation({:not, meta, [_]}), do: {"not", meta}
  def negation(_), do: nil

  def has_else?(node), do: Keyword.has_key?(AST.block_kw(node), :else)
end

defmodule ElixirCoder.Rules.Credo.Refactor.NegatedConditionsWithElse do
  use ElixirCoder.Rules.CredoRule, priority: 10
  alias ElixirCoder.Rules.CredoBranches, as: B

  def check(ctx) do
    AST.find_all(ctx, &match?({:if, _, [_, _]}, &1))
    |> Enum.flat_map(fn {:if, _, [cond_ast, _]} = node ->
      case B.negation(cond_ast) do
        {op, meta} ->
          if B.has_else?(node) do
            pos = {meta[:line], meta[:column]}

            fix =
              case Fix.do_else_end(ctx, node) do
                nil -> nil
                spots -> Fix.fix("Drop the negation and swap the branches", [Fix.drop_negation(ctx, pos, op) | Fix.swap_branches(ctx, spots)])
              end

            [issue(ctx, line: meta[:line], column: meta[:column], trigger: op,
               message: "Avoid negated conditions in if-else blocks.", fix: fix)]
          else
            []
          end

        nil ->
          []
      end
    end)
  end
end

defmodule ElixirCoder.Rules.Credo.Refactor.NegatedConditionsInUnless do
  use ElixirCoder.Rules.CredoRule, priority: 10
  alias ElixirCoder.Rules.CredoBranches, as: B

  def check(ctx) do
    AST.find_all(ctx, &match?({:unless, _, [_, _]}, &1))
    |> Enum.flat_map(fn {:unless, _, [cond_ast, _]} ->
      case B.negation(cond_ast) do
        {op, meta} ->
          [issue(ctx, line: meta[:line], column: meta[:column], trigger: op,
             message: "Avoid negated conditions in unless blocks.")]

        nil ->
          []
      end
    end)
  end
end

defmodule ElixirCoder.Rules.Credo.Refactor.UnlessWithElse do
  use ElixirCoder.Rules.CredoRule, priority: 10
  alias ElixirCoder.Rules.CredoBranches, as: B

  def check(ctx) do
    AST.find_all(ctx, &match?({:unless, _, [_, _]}, &1))
    |> Enum.filter(&B.has_else?/1)
    |> Enum.map(fn {:unless, meta, _} = node ->
      pos = {meta[:line], meta[:column]}

      fix =
        case Fix.do_else_end(ctx, node) do
          nil ->
            nil

          spots ->
            {l, c} = pos
            Fix.fix("Rewrite as if with the branches swapped", [Fix.edit(pos, {l, c + 6}, "if") | Fix.swap_branches(ctx, spots)])
        end

      issue(ctx, line: meta[:line], column: meta[:column], trigger: "unless",
        message: "Unless conditions should avoid having an `else` block.", fix: fix)
    end)
  end
end

defmodule ElixirCoder.Rules.Credo.Refactor.MatchInCondition do
  use ElixirCoder.Rules.CredoRule, priority: 0, params: %{allow_tagged_tuples: false}

  def check(ctx) do
    tagged_ok = ctx.params["allow_tagged_tuples"] == true

    AST.find_all(ctx, &match?({op, _, a} when op in [:if, :unless] and is_list(a), &1))
    |> Enum.flat_map(fn {op, _, args} ->
      conditions = Enum.reject(args, &Keyword.keyword?/1)

      conditions
      |> AST.find_all(&match?({:=, _, [_, _]}, &1))
      |> Enum.reject(&allowed?(&1, conditions, tagged_ok))
      |> Enum.map(fn {:=, meta, _} ->
        issue(ctx, line: meta[:line], trigger: "=", message: "There should be no matches in `#{op}` conditions.")
      end)
    end)
  end

  # `if x = f()` (a plain variable as the whole condition) is a simple assignment, which Credo accepts
  defp allowed?({:=, _, [{name, _, nil}, _]} = m, conditions, _tagged) when is_atom(name), do: m in conditions
  defp allowed?({:=, _, [{tag, {name, _, nil}}, _]}, _conditions, tagged) when is_atom(tag) and is_atom(name), do: tagged
  defp allowed?(_, _, _), do: false
end

defmodule ElixirCoder.Rules.CredoEnumPairCheck do
  @moduledoc false
  alias ElixirCoder.Rules.AST
  alias ElixirCoder.Rules.CredoSupport

  def run(ctx, rule, first, second, message, fixer \\ nil) do
    ctx
    |> pairs(first, second)
    |> Enum.map(fn {kind, outer, inner, pipe_meta, src} ->
      {line, col, trigger} =
        case kind do
          :nested ->
            {l, c} = AST.pos(outer)
            {l, c, "Enum.#{second}"}

          _ ->
            {pipe_meta[:line], pipe_meta[:column], "|>"}
        end

      fix = if fixer, do: fixer.(ctx, kind, outer, inner, src), else: nil
      CredoSupport.issue(ctx, rule, line: line, column: col, trigger: trigger, message: message, fix: fix)
    end)
  end

  defp pairs(ast, first, second) do
    AST.walk(ast, [], fn
      {:|>, meta, [{:|>, _, [src, inner]}, outer]}, _p, acc ->
        if one?(inner, first, [1]) and one?(outer, second, arities(second)),
          do: [{:pipe, outer, inner, meta, src} | acc],
          else: acc

      {:|>, meta, [inner, outer]}, _p, acc ->
        if one?(inner, first, [2]) and one?(outer, second, arities(second)),
          do: [{:pipe_head, outer, inner, meta, nil} | acc],
          else: acc

      {{:., _, [{:__aliases__, _, [:Enum]}, fun]}, _, [inner | _]} = outer, _p, acc when fun == second ->
        if one?(inner, first, [2]) and one?(outer, second, Enum.map(arities(second), &(&1 + 1))),
          do: [{:nested, outer, inner, nil, nil} | acc],
          else: acc

      _, _, acc ->
        acc
    end)
    |> Enum.reverse()
  end

  defp arities(:join), do: [0, 1]
  defp arities(:count), do: [0]
  defp arities(_), do: [1]

  defp one?({{:., _, [{:__aliases__, _, [:Enum]}, fun]}, _, args}, want, arities) when is_list(args),
    do: fun == want and length(args) in arities

  defp one?(_, _, _), do: false
end

defmodule ElixirCoder.Rules.Credo.Refactor.FilterFilter do
  use ElixirCoder.Rules.CredoRule, priority: 0

  def check(ctx) do
    ElixirCoder.Rules.CredoEnumPairCheck.run(
      ctx,
      __MODULE__,
      :filter,
      :filter,
      "One `Enum.filter/2` is more efficient than `Enum.filter/2 |> Enum.filter/2`",
      &fix/5
    )
  end

  # Only when both filters are one-argument captures: their bodies are joined with `&&`.
  defp fix(ctx, kind, outer, inner, _src) do
    with inner_args when is_list(inner_args) <- Fix.arg_texts(ctx, inner),
         outer_args when is_list(outer_args) <- Fix.arg_texts(ctx, outer),
         start when start != nil <- AST.pos(inner),
         stop when stop != nil <- Fix.call_end(outer),
         {from, enum, f, g} <- parts(kind, inner_args, outer_args, start, outer),
         b1 when is_binary(b1) <- capture_body(f),
         b2 when is_binary(b2) <- capture_body(g) do
      combined = "&(" <> wrap(b1) <> " && " <> wrap(b2) <> ")"
      args = if enum, do: [enum, combined], else: [combined]
      Fix.fix("Merge the two filters", [Fix.edit(from, stop, "Enum.filter(" <> Enum.join(args, ", ") <> ")")])
    else
      _ -> nil
    end
  end

  defp parts(:pipe, [f], [g], start, _outer), do: {start, nil, f, g}
  defp parts(:pipe_head, [x, f], [g], start, _outer), do: {start, x, f, g}
  defp parts(:nested, [x, f], [_, g], _start, outer), do: {AST.pos(outer), x, f, g}
  defp parts(_, _, _, _, _), do: nil

  defp capture_body(text) do
    text = String.trim(text)

    body =
      cond do
        String.match?(text, ~r/^&[\w.?!]+\/1$/) ->
          [name, _] = String.split(String.trim_leading(text, "&"), "/")
          name <> "(&1)"

        String.starts_with?(text, "&(") and String.ends_with?(text, ")") and balanced?(String.slice(text, 2..-2//1)) ->
          String.slice(text, 2..-2//1)

        String.starts_with?(text, "&") and not String.starts_with?(text, "&(") ->
          text |> String.trim_leading("&") |> String.trim()

        true ->
          nil
      end

    # a nested capture or a second argument cannot be merged into one capture
    if body && String.contains?(body, "&1") && not String.match?(body, ~r/&[^1]|&1\d/), do: body, else: nil
  end

  defp balanced?(text) do
    text
    |> String.graphemes()
    |> Enum.reduce_while(0, fn
      "(", d -> {:cont, d + 1}
      ")", 0 -> {:halt, -1}
      ")", d -> {:cont, d - 1}
      _, d -> {:cont, d}
    end)
    |> Kernel.==(0)
  end

  defp wrap(body), do: if(String.match?(body, ~r/^[\w.&?!]+(\([^()]*\))?$/), do: body, else: "(" <> body <> ")")
end

defmodule ElixirCoder.Rules.Credo.Refactor.RejectReject do
  use ElixirCoder.Rules.CredoRule, priority: 0

  def check(ctx) do
    ElixirCoder.Rules.CredoEnumPairCheck.run(ctx, __MODULE__, :reject, :reject,
      "One `Enum.reject/2` is more efficient than `Enum.reject/2 |> Enum.reject/2`")
  end
end

defmodule ElixirCoder.Rules.Credo.Refactor.FilterCount do
  use ElixirCoder.Rules.CredoRule, priority: 10

  def check(ctx) do
    ElixirCoder.Rules.CredoEnumPairCheck.run(ctx, __MODULE__, :filter, :count,
      "`Enum.count/2` is more efficient than `Enum.filter/2 |> Enum.count/1`")
  end
end

defmodule ElixirCoder.Rules.Credo.Refactor.MapJoin do
  use ElixirCoder.Rules.CredoRule, priority: 10

  def check(ctx) do
    ElixirCoder.Rules.CredoEnumPairCheck.run(
      ctx,
      __MODULE__,
      :map,
      :join,
      "`Enum.map_join/3` is more efficient than `Enum.map/2 |> Enum.join/2`.",
      &fix/5
    )
  end

  # Enum.map(x, f) |> Enum.join(s)  /  Enum.join(Enum.map(x, f), s)  ->  Enum.map_join(x, s, f)
  # x |> Enum.map(f) |> Enum.join(s)  ->  x |> Enum.map_join(s, f)
  defp fix(ctx, kind, outer, inner, _src) do
    with inner_args when is_list(inner_args) <- Fix.arg_texts(ctx, inner),
         outer_args when is_list(outer_args) <- Fix.arg_texts(ctx, outer),
         start when start != nil <- AST.pos(inner),
         stop when stop != nil <- Fix.call_end(outer) do
      {from, text} =
        case {kind, inner_args, outer_args} do
          {:pipe, [f], seps} -> {start, "Enum.map_join(" <> Enum.join(sep(seps) ++ [f], ", ") <> ")"}
          {:pipe_head, [x, f], seps} -> {start, "Enum.map_join(" <> Enum.join([x | sep(seps)] ++ [f], ", ") <> ")"}
          {:nested, [x, f], [_ | seps]} -> {AST.pos(outer), "Enum.map_join(" <> Enum.join([x | sep(seps)] ++ [f], ", ") <> ")"}
          _ -> {nil, nil}
        end

      if from && text, do: Fix.fix("Use Enum.map_join", [Fix.edit(from, stop, text)]), else: nil
    else
      _ -> nil
    end
  end

  defp sep([]), do: [~s("")]
  defp sep([s]), do: [s]
end

defmodule ElixirCoder.Rules.Credo.Refactor.WithClauses do
  use ElixirCoder.Rules.CredoRule, priority: 10

  @first "`with` doesn't start with a <- clause, move the non-pattern <- clauses outside of the `with`."
  @last "`with` doesn't end with a <- clause, move the non-pattern <- clauses inside the body of the `with`."

  def check(ctx) do
    AST.find_all(ctx, &match?({:with, _, [_, _ | _]}, &1))
    |> Enum.flat_map(fn {:with, meta, args} ->
      {clauses, [body]} = Enum.split(args, -1)

      if Keyword.keyword?(body) and Keyword.has_key?(body, :do) do
        first = if match?([{:<-, _, _} | _], clauses), do: [], else: [@first]
        last = if length(clauses) > 1 and not match?({:<-, _, _}, List.last(clauses)), do: [@last], else: []

        for message <- first ++ last do
          issue(ctx, line: meta[:line], column: meta[:column], trigger: "with", message: message)
        end
      else
        []
      end
    end)
  end
end
