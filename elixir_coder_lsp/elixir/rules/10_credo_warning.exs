# Credo-mirroring checks of the Warning category.

defmodule ElixirCoder.Rules.CredoDebugCalls do
  @moduledoc false
  # Shared by IoInspect/Dbg/IExPry: find calls and build the "remove the call" fix.

  alias ElixirCoder.Rules.AST
  alias ElixirCoder.Rules.Fix

  @doc "Each matching call with its parents: [{call, parents}]."
  def calls(ast, pred) do
    ast
    |> AST.walk([], fn node, parents, acc -> if pred.(node), do: [{node, parents} | acc], else: acc end)
    |> Enum.reverse()
  end

  def piped?(call, [{:|>, _, [_, rhs]} | _]), do: rhs == call
  def piped?(_call, _parents), do: false

  @doc """
  Fix removing a pass-through call (`IO.inspect/dbg`): in a pipe the stage is dropped, as a
  discarded statement the lines are deleted, otherwise the call is replaced by its first argument.
  """
  def passthrough_fix(ctx, call, parents, title) do
    start = AST.pos(call)
    stop = Fix.call_end(call) || bare_end(call, start)

    cond do
      start == nil or stop == nil ->
        nil

      piped?(call, parents) ->
        [{:|>, pipe_meta, _} | _] = parents
        pipe_pos = AST.meta_pos(pipe_meta)
        from = Fix.end_of_previous_text(ctx, pipe_pos)
        Fix.fix(title, [Fix.edit(from, stop, "")])

      discarded_statement?(call, parents) and Fix.alone_on_lines?(ctx, start, stop) ->
        {l1, _} = start
        {l2, _} = stop
        Fix.fix(title, [Fix.delete_lines(ctx, l1, l2)])

      true ->
        case Fix.arg_texts(ctx, call) do
          [first | _] -> Fix.fix(title, [Fix.edit(start, stop, first)])
          _ -> nil
        end
    end
  end

  @doc "Fix deleting a call that is a discarded statement (IEx.pry)."
  def statement_fix(ctx, call, parents, title) do
    start = AST.pos(call)
    stop = Fix.call_end(call) || bare_end(call, start)

    if start && stop && discarded_statement?(call, parents) && Fix.alone_on_lines?(ctx, start, stop) do
      {l1, _} = start
      {l2, _} = stop
      Fix.fix(title, [Fix.delete_lines(ctx, l1, l2)])
    end
  end

  defp bare_end({{:., _, _}, _, []} = call, {l, c}) do
    case AST.call_name(call) do
      nil -> nil
      name -> {l, c + String.length(name)}
    end
  end

  defp bare_end({name, _, []}, {l, c}) when is_atom(name), do: {l, c + String.length(Atom.to_string(name))}
  defp bare_end(_, _), do: nil

  def discarded_statement?(call, [{:__block__, _, stmts} | _]) when is_list(stmts) do
    List.last(stmts) != call
  end

  def discarded_statement?(_call, _parents), do: false
end

defmodule ElixirCoder.Rules.Credo.Warning.IoInspect do
  use ElixirCoder.Rules.CredoRule, priority: 10
  alias ElixirCoder.Rules.CredoDebugCalls, as: D

  def check(ctx) do
    ctx
    |> D.calls(&match?({{:., _, [{:__aliases__, _, [:IO]}, :inspect]}, _, args} when is_list(args), &1))
    |> Enum.map(fn {call, parents} ->
      {line, col} = AST.pos(call)

      issue(ctx,
        line: line,
        column: col,
        trigger: "IO.inspect",
        message: "There should be no calls to `IO.inspect/1`.",
        fix: D.passthrough_fix(ctx, call, parents, "Remove IO.inspect")
      )
    end)
  end
end

defmodule ElixirCoder.Rules.Credo.Warning.Dbg do
  use ElixirCoder.Rules.CredoRule, priority: 10
  alias ElixirCoder.Rules.CredoDebugCalls, as: D

  def check(ctx) do
    ctx
    |> D.calls(fn
      {:dbg, _, args} when is_list(args) -> true
      {{:., _, [{:__aliases__, _, [:Kernel]}, :dbg]}, _, args} when is_list(args) -> true
      _ -> false
    end)
    |> Enum.map(fn {{_, _, args} = call, parents} ->
      {line, col} = AST.pos(call)
      arity = length(args) + if(D.piped?(call, parents), do: 1, else: 0)
      trigger = if match?({:dbg, _, _}, call), do: "dbg", else: "Kernel.dbg"

      fix =
        if arity == 0,
          do: D.statement_fix(ctx, call, parents, "Remove dbg"),
          else: D.passthrough_fix(ctx, call, parents, "Remove dbg")

      issue(ctx,
        line: line,
        column: col,
        trigger: trigger,
        message: "There should be no calls to `dbg/#{arity}`.",
        fix: fix
      )
    end)
  end
end

defmodule ElixirCoder.Rules.Credo.Warning.IExPry do
  use ElixirCoder.Rules.CredoRule, priority: 10
  alias ElixirCoder.Rules.CredoDebugCalls, as: D

  def check(ctx) do
    ctx
    |> D.calls(&match?({{:., _, [{:__aliases__, _, [:IEx]}, :pry]}, _, args} when is_list(args), &1))
    |> Enum.map(fn {call, parents} ->
      {line, col} = AST.pos(call)

      issue(ctx,
        line: line,
        column: col,
        trigger: "IEx.pry",
        message: "There should be no calls to `IEx.pry/0`.",
        fix: D.statement_fix(ctx, call, parents, "Remove IEx.pry")
      )
    end)
  end
end

defmodule ElixirCoder.Rules.CredoUnusedOperation do
  @moduledoc false
  # Credo's "unused return value" analysis: walk up from a call to the enclosing def and
  # decide whether its value is consumed.

  alias ElixirCoder.Rules.AST
  alias ElixirCoder.Rules.CredoSupport

  @def_ops [:def, :defp, :defmacro]
  @head_ops [:if, :unless, :case, :for, :quote]

  def run(ctx, rule, module, funs) do
    ctx
    |> AST.walk([], fn
      {{:., _, [{:__aliases__, _, [^module]}, fun]}, _, args} = call, parents, acc when is_list(args) ->
        if (funs == nil or fun in funs) and inside_def?(parents) and unused?(call, parents) do
          [call | acc]
        else
          acc
        end

      _, _, acc ->
        acc
    end)
    |> Enum.reverse()
    |> Enum.map(fn call ->
      trigger = call |> Macro.to_string() |> String.split("(") |> hd()

      CredoSupport.issue(ctx, rule,
        line: AST.line(call),
        trigger: trigger,
        message: "There should be no unused return values for `#{module}` functions."
      )
    end)
  end

  defp inside_def?(parents), do: Enum.any?(parents, &match?({op, _, a} when op in @def_ops and is_list(a), &1))

  defp unused?(call, parents), do: decide(call, call, parents) == :unused

  defp decide(_cand, _child, []), do: :unused

  defp decide(cand, child, [p | rest]) do
    case verdict(p, child, cand) do
      :continue -> decide(cand, p, rest)
      v -> v
    end
  end

  defp verdict({op, _, args} = def_node, _child, cand) when op in @def_ops and is_list(args) do
    kw = AST.block_kw(def_node)
    last_do = kw |> Keyword.get(:do) |> AST.statements() |> List.last()
    last_rescue = kw |> Keyword.get(:rescue) |> AST.statements() |> List.last()
    if contains?(last_do, cand) or contains?(last_rescue, cand), do: :used, else: :unused
  end

  defp verdict({op, _, args}, child, _cand) when op in @head_ops and is_list(args) do
    if child in Enum.drop(args, -1), do: :used, else: :continue
  end

  defp verdict({:=, _, _}, _child, _cand), do: :used

  defp verdict({:__block__, _, stmts}, child, _cand) when is_list(stmts) do
    if List.last(stmts) == child, do: :continue, else: :unused
  end

  defp verdict({:|>, _, args}, child, _cand) do
    if List.last(args) == child, do: :continue, else: :used
  end

  defp verdict({op, _, args}, _child, _cand) when op in [:->, :fn] and is_list(args), do: :continue

  defp verdict({:try, _, args} = node, _child, cand) when is_list(args) do
    if contains?(Keyword.get(AST.block_kw(node), :after), cand), do: :unused, else: :continue
  end

  defp verdict({fun, _, args}, child, _cand) when is_atom(fun) and is_list(args) do
    if child in args, do: :used, else: :continue
  end

  defp verdict({{:., _, [target, fun]}, _, args}, child, _cand) when is_atom(fun) and is_list(args) do
    remote? =
      is_atom(target) or match?({:__aliases__, _, _}, target) or match?({m, _, []} when is_atom(m), target)

    if remote? and child in args, do: :used, else: :continue
  end

  defp verdict(_node, _child, _cand), do: :continue

  defp contains?(nil, _cand), do: false
  defp contains?(tree, cand), do: AST.walk(tree, false, fn n, _p, acc -> acc or n == cand end)
end

for {name, mod, funs} <- [
      {UnusedEnumOperation, :Enum,
       ~w(all? any? at chunk chunk_by chunk_every chunk_while concat count count_until dedup dedup_by drop
          drop_every drop_while empty? fetch fetch! filter find find_index find_value flat_map flat_map_reduce
          frequencies frequencies_by group_by intersperse into join map map_every map_intersperse map_join
          map_reduce max max_by member? min min_by min_max min_max_by product random reduce reduce_while
          reject reverse reverse_slice scan shuffle slice slide sort sort_by split split_while split_with sum
          take take_every take_random take_while to_list uniq uniq_by unzip with_index zip zip_reduce
          zip_with)a},
      {UnusedStringOperation, :String, nil},
      {UnusedListOperation, :List, nil},
      {UnusedKeywordOperation, :Keyword, nil},
      {UnusedTupleOperation, :Tuple, nil},
      {UnusedPathOperation, :Path, nil},
      {UnusedRegexOperation, :Regex, nil},
      {UnusedFileOperation, :File, ~w(cwd cwd! dir? exists? read read! regular? stat stat!)a},
      {UnusedMapOperation, :Map,
       ~w(delete drop equal? fetch fetch! filter from_keys from_struct get get_and_update get_and_update!
          get_lazy has_key? intersect keys merge new pop pop! pop_lazy put put_new put_new_lazy reject replace
          replace! replace_lazy split split_with take to_list update update! values)a}
    ] do
  defmodule Module.concat(ElixirCoder.Rules.Credo.Warning, name) do
    use ElixirCoder.Rules.CredoRule, priority: 10
    @checked mod
    @funs funs
    def check(ctx), do: ElixirCoder.Rules.CredoUnusedOperation.run(ctx, __MODULE__, @checked, @funs)
  end
end

defmodule ElixirCoder.Rules.Credo.Warning.ExpensiveEmptyEnumCheck do
  use ElixirCoder.Rules.CredoRule, priority: 10

  @eq [:==, :===, :!=, :!==]

  def check(ctx) do
    AST.find_all(ctx, &match?({op, _, [_, _]} when op in [:==, :===, :!=, :!==, :>, :<, :>=, :<=], &1))
    |> Enum.flat_map(fn {op, _, [lhs, rhs]} ->
      case classify(op, lhs, rhs) do
        nil ->
          []

        call ->
          {line, col} = AST.pos(call)
          {trigger, message} = describe(call)
          [issue(ctx, line: line, column: col, trigger: trigger, message: message)]
      end
    end)
  end

  defp classify(op, lhs, rhs) do
    cond do
      counting?(lhs) and empty_test?(op, rhs, :left) -> lhs
      counting?(rhs) and empty_test?(op, lhs, :right) -> rhs
      true -> nil
    end
  end

  defp empty_test?(op, 0, _side) when op in @eq, do: true
  defp empty_test?(:>, 0, :left), do: true
  defp empty_test?(:<=, 0, :left), do: true
  defp empty_test?(:>=, 1, :left), do: true
  defp empty_test?(:<, 1, :left), do: true
  defp empty_test?(:<, 0, :right), do: true
  defp empty_test?(:>=, 0, :right), do: true
  defp empty_test?(:<=, 1, :right), do: true
  defp empty_test?(:>, 1, :right), do: true
  defp empty_test?(_, _, _), do: false

  defp counting?({:length, _, [_]}), do: true
  defp counting?({{:., _, [{:__aliases__, _, [:Enum]}, :count]}, _, [_]}), do: true
  defp counting?({{:., _, [{:__aliases__, _, [:Enum]}, :count]}, _, [_, _]}), do: true
  defp counting?(_), do: false

  defp describe({:length, _, _}),
    do: {"length", "Using `length/1` is expensive, prefer comparing against an empty list."}

  defp describe({_, _, [_]}), do: {"Enum.count", "Using `Enum.count/1` is expensive, prefer `Enum.empty?/1`."}
  defp describe({_, _, [_, _]}), do: {"Enum.count", "Using `Enum.count/2` is expensive, prefer `not Enum.any?/2`."}
end

defmodule ElixirCoder.Rules.Credo.Warning.OperationOnSameValues do
  use ElixirCoder.Rules.CredoRule, priority: 10

  @results %{
    :== => {"Comparison", "true"},
    :>= => {"Comparison", "true"},
    :<= => {"Comparison", "true"},
    :!= => {"Comparison", "false"},
    :> => {"Comparison", "false"},
    :< => {"Comparison", "false"},
    :/ => {"Operation", "1"},
    :- => {"Operation", "0"}
  }

  def check(ctx) do
    ctx
    |> AST.walk([], fn
      {op, meta, [lhs, rhs]} = node, parents, acc when is_map_key(@results, op) ->
        if var_or_attr?(lhs) and AST.strip(lhs) == AST.strip(rhs) and not def_head?(node, parents) and
             not in_spec?(parents) do
          {kind, result} = @results[op]
          trigger = Atom.to_string(op)
          col = AST.find_column(ctx, meta[:line], trigger) || meta[:column]

          [issue(ctx, line: meta[:line], column: col, trigger: trigger, message: "#{kind} will always return #{result}.")
           | acc]
        else
          acc
        end

      _, _, acc ->
        acc
    end)
    |> Enum.reverse()
  end

  defp var_or_attr?({name, _, nil}) when is_atom(name), do: true
  defp var_or_attr?({:@, _, list}) when is_list(list), do: true
  defp var_or_attr?(_), do: false

  defp def_head?(node, [{op, _, [node | _]} | _]) when op in [:def, :defp, :defmacro], do: true
  defp def_head?(node, [{:when, _, [node | _]}, {op, _, _} | _]) when op in [:def, :defp, :defmacro], do: true
  defp def_head?(_, _), do: false

  defp in_spec?(parents), do: Enum.any?(parents, &match?({:@, _, [{:spec, _, _}]}, &1))
end

defmodule ElixirCoder.Rules.Credo.Warning.BoolOperationOnSameValues do
  use ElixirCoder.Rules.CredoRule, priority: 10

  def check(ctx) do
    AST.find_all(ctx, &match?({op, _, [_, _]} when op in [:and, :or, :&&, :||], &1))
    |> Enum.filter(fn {_, _, [l, r]} -> AST.strip(l) === AST.strip(r) end)
    |> Enum.map(fn {op, meta, _} ->
      trigger = Atom.to_string(op)

      issue(ctx,
        line: meta[:line],
        column: AST.find_column(ctx, meta[:line], trigger) || meta[:column],
        trigger: trigger,
        message: "There are identical sub-expressions to the left and to the right of the '#{trigger}' operator."
      )
    end)
  end
end

defmodule ElixirCoder.Rules.Credo.Warning.OperationWithConstantResult do
  use ElixirCoder.Rules.CredoRule, priority: 10

  def check(ctx) do
    AST.find_all(ctx, fn
      {:*, _, [_, n]} when n in [0, 1] -> true
      _ -> false
    end)
    |> Enum.map(fn {:*, meta, [_, n]} ->
      result = if n == 0, do: "0", else: "the left side"

      issue(ctx,
        line: meta[:line],
        column: meta[:column],
        trigger: "*",
        message: "Operation will always return #{result}."
      )
    end)
  end
end

defmodule ElixirCoder.Rules.Credo.Warning.RaiseInsideRescue do
  use ElixirCoder.Rules.CredoRule, priority: 0

  def check(ctx) do
    ctx
    |> AST.walk([], fn
      {:raise, meta, args} = node, parents, acc when is_list(args) ->
        if in_rescue?(node, parents), do: [meta | acc], else: acc

      _, _, acc ->
        acc
    end)
    |> Enum.reverse()
    |> Enum.map(fn meta ->
      issue(ctx,
        line: meta[:line],
        column: meta[:column],
        trigger: "raise",
        message: "Use `reraise` inside a rescue block to preserve the original stacktrace."
      )
    end)
  end

  # inside the value of a `rescue:` keyword entry of a try or def
  defp in_rescue?(_node, parents) do
    Enum.any?(parents, &match?({:rescue, _}, &1)) or
      Enum.any?(parents, &match?({{:__block__, _, [:rescue]}, _}, &1))
  end
end

defmodule ElixirCoder.Rules.Credo.Warning.ApplicationConfigInModuleAttribute do
  use ElixirCoder.Rules.CredoRule, priority: 10

  @funs [:get_env, :fetch_env, :fetch_env!, :get_all_env]

  def check(ctx) do
    ctx
    |> AST.walk([], fn
      {:@, _, [{name, _, [value]}]}, parents, acc when is_atom(name) ->
        if module_level?(parents) do
          value
          |> AST.find_all(&match?({{:., _, [{:__aliases__, _, [:Application]}, f]}, _, a} when f in @funs and is_list(a), &1))
          |> Enum.map(&{name, &1})
          |> Kernel.++(acc)
        else
          acc
        end

      _, _, acc ->
        acc
    end)
    |> Enum.reverse()
    |> Enum.map(fn {name, {{:., _, [_, fun]}, _, args} = call} ->
      trigger = "Application." <> String.trim_trailing(Atom.to_string(fun), "!")

      issue(ctx,
        line: AST.line(call),
        trigger: trigger,
        message:
          "Module attribute @#{name} makes use of unsafe Application configuration call Application.#{fun}/#{length(args)}"
      )
    end)
  end

  defp module_level?(parents), do: not Enum.any?(parents, &match?({op, _, _} when op in [:def, :defp, :defmacro, :defmacrop], &1))
end

defmodule ElixirCoder.Rules.Credo.Warning.UnsafeExec do
  use ElixirCoder.Rules.CredoRule, priority: 10

  def check(ctx) do
    AST.find_all(ctx, &match?({{:., _, [_, _]}, _, args} when is_list(args), &1))
    |> Enum.flat_map(fn call ->
      case message(call) do
        nil -> []
        {trigger, msg} -> [issue(ctx, line: AST.line(call), trigger: trigger, message: msg)]
      end
    end)
  end

  defp message({{:., _, [:os, :cmd]}, _, args}) when length(args) in [1, 2],
    do: {":os.cmd", "Prefer System.cmd/2,3 over :os.cmd/1 to prevent command injection."}

  defp message({{:., _, [:erlang, :open_port]}, _, [{:spawn, _} | _]}),
    do:
      {":erlang.open_port",
       "Prefer :erlang.open_port/2 with `:spawn_executable` over :erlang.open_port/2 with `:spawn` to prevent command injection."}

  defp message({{:., _, [{:__aliases__, _, [:Port]}, :open]}, _, [{:spawn, _} | _]}),
    do:
      {"Port.open",
       "Prefer Port.open/2 with `:spawn_executable` over Port.open/2 with `:spawn` to prevent command injection."}

  defp message(_), do: nil
end

defmodule ElixirCoder.Rules.Credo.Warning.UnsafeToAtom do
  use ElixirCoder.Rules.CredoRule, priority: 10, enabled: false

  @calls %{
    {[:String], :to_atom} => "String.to_existing_atom",
    {[:List], :to_atom} => "List.to_existing_atom",
    {:erlang, :binary_to_atom} => ":erlang.binary_to_existing_atom",
    {:erlang, :list_to_atom} => ":erlang.list_to_existing_atom"
  }

  def check(ctx) do
    AST.find_all(ctx, &match?({{:., _, [_, _]}, _, args} when is_list(args), &1))
    |> Enum.flat_map(fn {{:., _, [target, fun]}, _, args} = call ->
      key = {target_key(target), fun}

      case @calls[key] do
        nil ->
          []

        safe ->
          if literal?(args) do
            []
          else
            name = AST.call_name(call)
            arity = length(args)
            {line, col} = AST.pos(call)

            fix =
              Fix.fix("Use #{safe}", [Fix.edit({line, col}, {line, col + String.length(name)}, safe)])

            [
              issue(ctx,
                line: line,
                column: col,
                trigger: name,
                message: "Prefer #{safe}/#{arity} over #{name}/#{arity} to avoid creating atoms at runtime.",
                fix: fix
              )
            ]
          end
      end
    end)
  end

  defp target_key({:__aliases__, _, parts}), do: parts
  defp target_key(a) when is_atom(a), do: a
  defp target_key(_), do: nil

  defp literal?([arg | _]), do: is_binary(arg) or is_list(arg)
  defp literal?(_), do: false
end
