# Structural facts for clarification (op "clarify_features"): what a candidate program does, read
# from its parsed AST (the code is parsed, never compiled or run). Python (inference/clarification.py)
# turns these raw facts into the feature families of docs/architecture.md and compares programs with them.
#
# Result (all lists of strings unless noted):
#   modules        modules the code defines
#   defs, defps    "name/arity" of public and private functions
#   attributes     module attribute names that are set (@doc, @spec and the like excluded)
#   aliases, imports, uses, requires, behaviours   module names
#   remote_calls   "Mod.fun/arity" (pipes counted in the arity; aliases expanded; ":ets.new/2")
#   local_calls    "fun/arity" of calls to functions the code does not define (raise/1, spawn/1…)
#   guarded_calls  remote and local calls inside a try body (their exceptions are rescued)
#   tail_calls     the call whose value a public function returns ("Map.get/2")
#   with_sources   calls on the right of <- in a `with` without else (their non-matching values pass through)
#   option_calls   Keyword calls on a variable named opts/options (options, not data)
#   struct_names   modules of %Mod{} literals built (not matched); counts (an object): error_tuples, error_atoms,
#   nil_results, ok_tuples, rescues, with_else, receives, map_literals, keyword_literals,
#   defstructs, comprehensions (only outside patterns: a value built, not one matched)

defmodule ElixirCoder.Clarify.Features do
  @moduledoc false

  @skip_attributes ~w(doc moduledoc spec impl type typep opaque callback macrocallback behaviour
                      derive enforce_keys typedoc since deprecated dialyzer compile)a
  @def_kinds [:def, :defp, :defmacro, :defmacrop]
  @counters ~w(error_tuples error_atoms nil_results ok_tuples rescues with_else receives map_literals
               keyword_literals defstructs comprehensions)a

  def __helper_ops__, do: %{"clarify_features" => &features/1}

  @doc "Facts about one program, or a syntax error."
  def features(%{"code" => code}) when is_binary(code) do
    case ElixirCoder.Helper.Parse.string_to_quoted(code) do
      {:ok, ast} -> {:ok, extract(ast)}
      {:error, error} -> {:error, "syntax_error", "line #{error.line}: #{error.message}"}
    end
  end

  def features(_), do: {:error, "invalid_input", "clarify_features needs args.code (a string)"}

  def extract(ast) do
    aliases = collect_aliases(ast)

    acc = %{
      lists: %{},
      counts: Map.new(@counters, &{&1, 0}),
      aliases: aliases
    }

    acc = walk(ast, %{pattern: false, try: false, last_arg: false}, acc)
    local_defs = MapSet.new(Map.get(acc.lists, :defs, []) ++ Map.get(acc.lists, :defps, []))

    lists =
      acc.lists
      |> Map.update(:local_calls, [], fn calls -> Enum.reject(calls, &MapSet.member?(local_defs, &1)) end)
      |> Map.update(:guarded_calls, [], fn calls -> Enum.reject(calls, &MapSet.member?(local_defs, &1)) end)
      |> Map.new(fn {k, v} -> {k, v |> Enum.reverse() |> Enum.uniq()} end)

    keys = ~w(modules defs defps attributes aliases imports uses requires behaviours remote_calls
              local_calls guarded_calls tail_calls with_sources struct_names option_calls)a

    keys
    |> Map.new(&{&1, Map.get(lists, &1, [])})
    |> Map.put(:counts, acc.counts)
  end

  # -- aliases: `alias A.B` and `alias A.B, as: C` (a first pass, so calls before the alias resolve too)

  defp collect_aliases(ast) do
    {_, map} =
      Macro.prewalk(ast, %{}, fn
        {:alias, _, [{:__aliases__, _, parts} | rest]} = node, map when is_list(parts) ->
          full = join(parts)

          short =
            case rest do
              [[as: {:__aliases__, _, as_parts}]] -> join(as_parts)
              _ -> parts |> List.last() |> to_string()
            end

          {node, Map.put(map, short, full)}

        {:defmodule, _, [{:__aliases__, _, parts} | _]} = node, map when is_list(parts) ->
          {node, Map.put(map, parts |> List.last() |> to_string(), join(parts))}

        node, map ->
          {node, map}
      end)

    map
  end

  defp join(parts), do: Enum.map_join(parts, ".", &to_string/1)

  defp module_name({:__aliases__, _, [:__MODULE__ | _]}, _aliases), do: "__MODULE__"

  defp module_name({:__aliases__, _, [first | rest] = parts}, aliases) when is_atom(first) do
    if Enum.all?(parts, &is_atom/1) do
      case Map.fetch(aliases, Atom.to_string(first)) do
        {:ok, full} when rest != [] -> full <> "." <> join(rest)
        {:ok, full} -> full
        :error -> join(parts)
      end
    end
  end

  defp module_name(atom, _aliases) when is_atom(atom) and atom not in [nil, true, false] do
    case Atom.to_string(atom) do
      "Elixir." <> name -> name
      name -> ":" <> name
    end
  end

  defp module_name(_, _), do: nil

  # -- the walk ---------------------------------------------------------------------------------

  defp add(acc, key, value), do: %{acc | lists: Map.update(acc.lists, key, [value], &[value | &1])}
  defp bump(acc, key), do: %{acc | counts: Map.update!(acc.counts, key, &(&1 + 1))}
  defp bump_unless_pattern(acc, key, ctx), do: if(ctx.pattern, do: acc, else: bump(acc, key))

  defp walk_all(nodes, ctx, acc) when is_list(nodes), do: Enum.reduce(nodes, acc, &walk(&1, ctx, &2))

  defp walk({:defmodule, _, [name, body]}, ctx, acc) do
    acc = if n = module_name(name, %{}), do: add(acc, :modules, n), else: acc
    call_args([body], ctx, acc)
  end

  defp walk({kind, _, [head | body]}, ctx, acc) when kind in @def_kinds do
    acc =
      case def_name_arity(head) do
        {name, arity} ->
          acc = add(acc, if(kind in [:def, :defmacro], do: :defs, else: :defps), "#{name}/#{arity}")
          if kind == :def, do: tail_of_body(body, acc), else: acc

        nil ->
          acc
      end

    acc = walk(head, %{ctx | pattern: true}, acc)
    call_args(body, %{ctx | pattern: false}, acc)
  end

  defp walk({:@, _, [{name, _, value}]}, ctx, acc) when is_atom(name) do
    acc =
      cond do
        name == :behaviour and is_list(value) ->
          Enum.reduce(value, acc, fn v, a -> if m = module_name(v, a.aliases), do: add(a, :behaviours, m), else: a end)

        name in @skip_attributes or not is_list(value) or value == [] ->
          acc

        true ->
          add(acc, :attributes, Atom.to_string(name))
      end

    if is_list(value) and name not in [:doc, :moduledoc, :spec, :typedoc], do: walk_all(value, ctx, acc), else: acc
  end

  defp walk({kind, _, [target | _]} = node, ctx, acc) when kind in [:alias, :import, :require, :use] do
    acc =
      case module_name(target, acc.aliases) do
        nil -> acc
        m -> add(acc, Map.fetch!(%{alias: :aliases, import: :imports, require: :requires, use: :uses}, kind), m)
      end

    case node do
      {_, _, [_, opts]} -> walk(opts, ctx, acc)
      _ -> acc
    end
  end

  defp walk({:defstruct, _, args}, ctx, acc), do: call_args(args, ctx, bump(acc, :defstructs))

  defp walk({:try, _, [clauses]}, ctx, acc) when is_list(clauses) do
    Enum.reduce(clauses, acc, fn
      {:do, body}, a ->
        walk(body, %{ctx | try: true}, a)

      {kind, body}, a when kind in [:rescue, :catch] ->
        walk(body, ctx, bump(a, :rescues))

      {_, body}, a ->
        walk(body, ctx, a)
    end)
  end

  defp walk({:with, _, args}, ctx, acc) when is_list(args) do
    acc =
      if match?([_ | _], args) and has_else?(List.last(args)) do
        bump(acc, :with_else)
      else
        # without else, a value that does not match is returned as it is
        Enum.reduce(args, acc, fn
          {:<-, _, [_, rhs]}, a -> if n = tail_call(rhs, 0, a.aliases), do: add(a, :with_sources, n), else: a
          _, a -> a
        end)
      end

    call_args(args, ctx, acc)
  end

  defp walk({:receive, _, args}, ctx, acc), do: call_args(args, ctx, bump(acc, :receives))
  defp walk({:for, _, args}, ctx, acc), do: call_args(args, ctx, bump_unless_pattern(acc, :comprehensions, ctx))

  # clause bodies: left of -> is a pattern; a body that is just nil / :error counts as such a result
  defp walk({:->, _, [left, right]}, ctx, acc) do
    acc = walk_all(left, %{ctx | pattern: true}, acc)
    acc = result_literal(last_expr(right), acc)
    walk(right, %{ctx | pattern: false}, acc)
  end

  defp walk({op, _, [left, right]}, ctx, acc) when op in [:<-, :=] do
    acc = walk(left, %{ctx | pattern: true}, acc)
    walk(right, ctx, acc)
  end

  defp walk({:|>, _, [left, right]}, ctx, acc) do
    acc = walk(left, ctx, acc)
    call(right, 1, ctx, acc)
  end

  defp walk({:%, _, [name, map]}, ctx, acc) do
    # a struct built is a data-structure choice; one matched only follows the input's shape
    n = module_name(name, acc.aliases)
    acc = if n && not ctx.pattern, do: add(acc, :struct_names, n), else: acc
    case map do
      {:%{}, _, pairs} -> walk_all(pairs, ctx, acc)
      other -> walk(other, ctx, acc)
    end
  end

  defp walk({:%{}, _, pairs}, ctx, acc), do: walk_all(pairs, ctx, bump_unless_pattern(acc, :map_literals, ctx))

  defp walk({:{}, _, [:error | rest]}, ctx, acc), do: walk_all(rest, ctx, bump_unless_pattern(acc, :error_tuples, ctx))

  defp walk({:error, value}, ctx, acc), do: walk(value, ctx, bump_unless_pattern(acc, :error_tuples, ctx))
  defp walk({:ok, value}, ctx, acc), do: walk(value, ctx, bump_unless_pattern(acc, :ok_tuples, ctx))
  defp walk({a, b}, ctx, acc), do: walk(b, ctx, walk(a, ctx, acc))

  defp walk(list, ctx, acc) when is_list(list) do
    acc =
      if list != [] and not ctx.pattern and not ctx.last_arg and keyword?(list),
        do: bump(acc, :keyword_literals),
        else: acc

    walk_all(list, %{ctx | last_arg: false}, acc)
  end

  defp walk({_, _, _} = node, ctx, acc), do: call(node, 0, ctx, acc)
  defp walk(_other, _ctx, acc), do: acc

  # A call node (or a variable); `extra` is 1 when the value arrives through a pipe.
  defp call({{:., _, [target, fun]}, _, args}, extra, ctx, acc) when is_atom(fun) and is_list(args) do
    acc =
      case module_name(target, acc.aliases) do
        nil ->
          walk(target, ctx, acc)

        mod ->
          name = "#{mod}.#{fun}/#{length(args) + extra}"
          acc = if ctx.pattern, do: acc, else: add(acc, :remote_calls, name)
          acc = if option_call?(mod, args, extra), do: add(acc, :option_calls, name), else: acc
          if ctx.try, do: add(acc, :guarded_calls, name), else: acc
      end

    call_args(args, ctx, acc)
  end

  defp call({name, _, args}, extra, ctx, acc) when is_atom(name) and is_list(args) do
    acc =
      if ctx.pattern or not word?(name) or name in [:__block__, :__aliases__, :fn, :case, :cond, :if, :unless] do
        acc
      else
        label = "#{name}/#{length(args) + extra}"
        acc = add(acc, :local_calls, label)
        if ctx.try, do: add(acc, :guarded_calls, label), else: acc
      end

    call_args(args, ctx, acc)
  end

  defp call({_, _, args} = node, _extra, ctx, acc) when is_list(args) do
    {form, _, _} = node
    walk_all(args, ctx, walk(form, ctx, acc))
  end

  defp call(_node, _extra, _ctx, acc), do: acc

  # A keyword list as a call's last argument is options (or do/else blocks), not a data structure.
  defp call_args([], _ctx, acc), do: acc

  defp call_args(args, ctx, acc) do
    {init, last} = Enum.split(args, -1)
    acc = walk_all(init, ctx, acc)

    case last do
      [list] when is_list(list) -> walk(list, %{ctx | last_arg: true}, acc)
      _ -> walk_all(last, ctx, acc)
    end
  end

  # Operators and special forms ({}, <<>>, ::, |>…) are not calls worth recording.
  defp word?(name), do: Regex.match?(~r/^[a-z][a-zA-Z0-9_]*[?!]?$/, Atom.to_string(name))

  # Keyword.get(opts, …): reading a function's options, not choosing a data structure.
  defp option_call?("Keyword", [{name, _, ctx} | _], 0) when is_atom(ctx), do: name in [:opts, :options, :opt]
  defp option_call?(_, _, _), do: false

  defp keyword?(list), do: Enum.all?(list, &match?({key, _} when is_atom(key), &1))

  defp has_else?(opts) when is_list(opts), do: Keyword.keyword?(opts) and Keyword.has_key?(opts, :else)
  defp has_else?(_), do: false

  defp def_name_arity({:when, _, [head | _]}), do: def_name_arity(head)
  defp def_name_arity({name, _, args}) when is_atom(name) and is_list(args), do: {name, length(args)}
  defp def_name_arity({name, _, ctx}) when is_atom(name) and is_atom(ctx), do: {name, 0}
  defp def_name_arity(_), do: nil

  defp last_expr({:__block__, _, [_ | _] = exprs}), do: List.last(exprs)
  defp last_expr(expr), do: expr

  defp result_literal(nil, acc), do: bump(acc, :nil_results)
  defp result_literal(:error, acc), do: bump(acc, :error_atoms)
  defp result_literal(_, acc), do: acc

  # What a public function returns when its body ends in a call (through pipes too).
  defp tail_of_body([[{:do, body} | _]], acc), do: tail_of_body(body, acc)
  defp tail_of_body([body], acc) when not is_list(body), do: tail_of_body(body, acc)

  defp tail_of_body(body, acc) do
    case tail_call(last_expr(body), 0, acc.aliases) do
      nil -> result_literal(last_expr(body), acc)
      name -> add(acc, :tail_calls, name)
    end
  end

  defp tail_call({:|>, _, [_, right]}, _extra, aliases), do: tail_call(right, 1, aliases)

  defp tail_call({{:., _, [target, fun]}, _, args}, extra, aliases) when is_atom(fun) and is_list(args) do
    if mod = module_name(target, aliases), do: "#{mod}.#{fun}/#{length(args) + extra}"
  end

  defp tail_call(_, _, _), do: nil
end
