# Shared machinery for the built-in Sobelow-mirroring rules (20_sobelow_*.exs).
#
# Sobelow 0.15 scans every `def`/`defp` of a file on its own: it looks for calls of one function
# (local, aliased `X.Mod.fun`, strict `Mod.fun` or Erlang `:mod.fun`), takes the variables found in
# the argument it cares about, and rates the finding: `low` outside controllers, and inside a file
# that has `use X, :controller`, `high` when a variable is an argument of the enclosing def (or
# `conn.params`), `medium` otherwise. This module reproduces that search, including its quirks (a
# literal-only argument gives no finding, an aliased call gives the module name as the "variable",
# a def whose body is not a lone `do` block is searched only inside its single nested `do` block),
# so that built-in results line up with the real tool's. Skips (`# sobelow_skip ["Type"]`) are
# honoured as Sobelow does under `--skip`: the comment applies to the next def/defp.

defmodule ElixirCoder.Rules.Sobelow.Support do
  @moduledoc "Call search, variable extraction, confidence, skips and ranges for the Sobelow rules."

  @operators ~w(+ - ! ^ not ~~~ * / ++ -- .. <> <<< >>> ~>> <<~ > < >= <= == != =~ === !== && &&& and || ||| or = |)a

  # Sobelow's pattern for a skip comment under --skip; each name is a check type
  # (`DOS.StringToAtom`) or a whole group (`DOS`).
  @skip_regex ~r/#\s?sobelow_skip (\[("[^"]+"(,|, )?)+\])/

  # ---------------------------------------------------------------------------------------------
  # Per-file facts

  @doc "Facts about the file shared by all rules: defs (with their skips) and controller-ness."
  @spec file_meta(map()) :: %{defs: list(), controller?: boolean(), router?: boolean()}
  def file_meta(%{ast: ast} = ctx) do
    # Every Sobelow rule asks for the same facts about one buffer: compute them once per source.
    key = {ctx[:source], ctx[:filename]}

    case Process.get(:elixir_coder_sobelow_meta) do
      {^key, meta} when ctx.source != nil ->
        meta

      _ ->
        meta = build_meta(ast, ctx_lines(ctx), ctx[:comments])
        Process.put(:elixir_coder_sobelow_meta, {key, meta})
        meta
    end
  end

  defp build_meta(ast, lines, comments) do
    {_, {defs, uses}} =
      Macro.prewalk(ast, {[], []}, fn
        {kind, _, nil} = node, acc when kind in [:def, :defp] ->
          {node, acc}

        {kind, meta, _} = node, {defs, uses} when kind in [:def, :defp] ->
          {node, {[{:def, meta[:line] || 0, meta[:column] || 0, node} | defs], uses}}

        {:use, _, _} = node, {defs, uses} ->
          {node, {defs, [node | uses]}}

        node, acc ->
          {node, acc}
      end)

    items =
      Enum.sort_by(Enum.reverse(defs) ++ skip_comments(lines, comments), fn {_, l, c, _} ->
        {l, c}
      end)

    defs = for {node, skips} <- pair_skips(items, []), do: index_def(node, skips)

    %{
      defs: defs,
      controller?: Enum.any?(uses, &use_type?(&1, :controller)),
      router?: Enum.any?(uses, &use_type?(&1, :router))
    }
  end

  # Only the two-argument form `use Something, :controller` (or `:router`) counts, as in Sobelow.
  defp use_type?({:use, _, [_, type]}, type), do: true
  defp use_type?(_, _), do: false

  # Sobelow (with --skip) rewrites `# sobelow_skip [...]` into an attribute in place, then pairs
  # each such attribute with the def/defp that follows it in the file.
  # Only whole-line comments count: a skip written after code on the same line would make
  # Sobelow's rewritten source fail to parse. With the engine's comment list, text inside strings
  # and heredocs is never mistaken for a comment.
  defp skip_comments(lines, comments) when is_list(comments) do
    Enum.flat_map(comments, fn %{line: line, column: col, text: text} ->
      with [list_text] <- Regex.run(@skip_regex, text, capture: [1]),
           true <- String.trim(text_before(lines, line, col)) == "" do
        [{:skip, line, col, skip_names(list_text)}]
      else
        _ -> []
      end
    end)
  end

  defp skip_comments(lines, _none) do
    lines
    |> Tuple.to_list()
    |> Enum.with_index(1)
    |> Enum.flat_map(fn {text, line} ->
      case Regex.run(@skip_regex, text, return: :index) do
        [{start, _} | _] ->
          if String.trim(binary_part(text, 0, start)) == "" do
            [list_text] = Regex.run(@skip_regex, text, capture: [1])
            [{:skip, line, start + 1, skip_names(list_text)}]
          else
            []
          end

        nil ->
          []
      end
    end)
  end

  defp skip_names(list_text),
    do: Regex.scan(~r/"([^"]+)"/, list_text) |> Enum.map(fn [_, n] -> n end)

  defp text_before(lines, line, col) do
    lines |> line_at(line) |> String.graphemes() |> Enum.take(col - 1) |> Enum.join()
  end

  defp pair_skips([], acc), do: Enum.reverse(acc)

  defp pair_skips([{:skip, _, _, names}, {:def, _, _, node} | rest], acc),
    do: pair_skips(rest, [{node, names} | acc])

  defp pair_skips([{:skip, _, _, _} | rest], acc), do: pair_skips(rest, acc)
  defp pair_skips([{:def, _, _, node} | rest], acc), do: pair_skips(rest, [{node, []} | acc])

  @doc "True when `rule_id` (e.g. \"Sobelow.DOS.StringToAtom\") is named by a skip list."
  @spec skipped?(String.t(), [String.t()]) :: boolean()
  def skipped?(_rule_id, []), do: false

  def skipped?(rule_id, skips) do
    type = String.replace_prefix(rule_id, "Sobelow.", "")
    group = type |> String.split(".") |> hd()
    type in skips or group in skips
  end

  # ---------------------------------------------------------------------------------------------
  # Running a def-based rule

  @doc """
  Runs `search` (def entry -> [{call, vars, message}]) on every def not skipped for `rule_id` and
  builds finding maps. `initial` is the starting confidence: `:controller` (low outside
  controllers), `:high`, or `nil` (rated from the variables everywhere, as XSS.SendResp).
  `extra` post-processes each finding: (call, finding, def entry) -> finding | nil.
  """
  def run_defs(ctx, rule_id, initial, search, extra \\ fn _call, f, _def -> f end) do
    cond do
      ctx[:ast] == nil or not scanned_file?(ctx[:filename]) ->
        []

      true ->
        meta = file_meta(ctx)
        conf = initial_confidence(initial, meta)

        meta.defs
        |> Enum.reject(fn d -> skipped?(rule_id, d.skips) end)
        |> Enum.flat_map(fn d ->
          safe(fn ->
            params = d.params

            d
            |> search.()
            |> Enum.map(fn {call, vars, message} ->
              extra.(call, build(ctx, rule_id, message, call, vars, params, conf), d)
            end)
            |> Enum.reject(&is_nil/1)
          end)
        end)
        # Two-path File functions can report the same variable twice on one call.
        |> Enum.uniq()
    end
  end

  @doc """
  Whether Sobelow would scan this file's functions: it reads `*.ex` files only (not scripts,
  tests or configs) and leaves out `mix/tasks/`. A buffer without a name is always scanned.
  """
  def scanned_file?(nil), do: true

  def scanned_file?(filename) when is_binary(filename) do
    Path.extname(filename) == ".ex" and not String.contains?("/" <> filename, "/mix/tasks/")
  end

  def scanned_file?(_), do: true

  defp initial_confidence(:controller, meta), do: if(meta.controller?, do: nil, else: :low)
  defp initial_confidence(other, _meta), do: other

  # A pattern this port did not foresee must cost one def's findings, never the request; the
  # failure is logged so that it can be fixed.
  defp safe(fun) do
    fun.()
  rescue
    e ->
      IO.puts(:stderr, "sobelow rule: " <> Exception.format(:error, e, __STACKTRACE__))
      []
  catch
    kind, reason ->
      IO.puts(:stderr, "sobelow rule: #{kind} #{inspect(reason, limit: 5)}")
      []
  end

  @doc "A finding map for one call."
  def build(ctx, rule_id, message, call, vars, params, conf) do
    {line, col, end_line, end_col} = call_range(ctx, call)

    %{
      rule: rule_id,
      category: "security",
      message: message,
      line: line,
      column: col,
      end_line: end_line,
      end_column: end_col,
      trigger: callee_text(call),
      priority: nil,
      confidence: Atom.to_string(severity(params, vars, conf)),
      variable: variable_text(vars),
      fix: nil
    }
  end

  @doc "Sobelow's rating: fixed confidence, or high/medium from whether a variable is a def argument."
  def severity(params, vars, conf) when is_list(vars) do
    sevs = Enum.map(vars, &severity1(params, &1, conf))

    cond do
      :high in sevs -> :high
      :medium in sevs -> :medium
      true -> :low
    end
  end

  defp severity1(params, var, conf) when conf in [nil, false] do
    if var in ["conn.params" | params], do: :high, else: :medium
  end

  defp severity1(_params, _var, conf), do: conf

  @doc "The JSON `variable` text: names joined with \" and \" as Sobelow does."
  def variable_text([one]), do: var_text(one)
  def variable_text(vars), do: Enum.map_join(vars, " and ", &var_text/1)

  defp var_text(v) when is_atom(v), do: Atom.to_string(v)
  defp var_text(v) when is_binary(v), do: v
  defp var_text(v), do: Macro.to_string(v)

  # ---------------------------------------------------------------------------------------------
  # Def heads

  @doc "Names bound by a def head (Sobelow's notion of a function's params)."
  def def_params({_, _, [definition | _]}) do
    declaration =
      case definition do
        {:when, _, [head | _]} -> head
        head -> head
      end

    head_params(declaration)
  end

  def def_params(_), do: []

  defp head_params({_, _, params}) when is_list(params), do: Enum.flat_map(params, &head_params/1)
  defp head_params({_, params}) when is_tuple(params), do: head_params(params)
  defp head_params({var, _, nil}), do: [var]
  defp head_params(_), do: []

  # ---------------------------------------------------------------------------------------------
  # Call search (per def)
  #
  # Each def is walked twice, once: its body for local calls and pipes (Sobelow's
  # get_funs_of_type, where a def stands for its lone do block), and the whole def for remote calls
  # (Sobelow's aliased and Erlang searches, which include the head). Captures `&Mod.fun/2` count
  # as calls with arguments `&1, &2`. Rules then look calls up by name.

  defp index_def(node, skips) do
    {_, locals} = Macro.prewalk(node, %{}, &local_cb/2)
    {_, remotes} = Macro.prewalk(node, %{}, &remote_cb/2)

    pipes =
      locals
      |> Map.get(:|>, [])
      |> Enum.filter(fn pipe -> do_blocks(pipe) == [] end)
      |> Enum.map(fn {_, _, args} -> Enum.at(args, 1) end)

    %{
      node: node,
      skips: skips,
      params: def_params(node),
      locals: locals,
      remotes: remotes,
      pipes: pipes
    }
  end

  defp local_cb({name, _, opts}, acc) when name in [:def, :defp, :defmacro] do
    case do_blocks(opts) do
      [[{:do, block}]] -> local_cb(block, acc)
      _ -> {[], acc}
    end
  end

  defp local_cb({:&, _, [{:/, _, [{fun, meta, _}, arity]}]} = cap, acc),
    do: local_cb(fun_cap(fun, meta, arity, cap), acc)

  defp local_cb({name, _, _} = node, acc) when is_atom(name),
    do: {node, Map.update(acc, name, [node], &[node | &1])}

  defp local_cb(node, acc), do: {node, acc}

  defp remote_cb({:&, _, [{:/, _, [{fun, meta, _}, arity]}]} = cap, acc),
    do: remote_cb(fun_cap(fun, meta, arity, cap), acc)

  defp remote_cb({{:., _, [_, name]}, _, _} = node, acc) when is_atom(name),
    do: {node, Map.update(acc, name, [node], &[node | &1])}

  defp remote_cb(node, acc), do: {node, acc}

  defp do_blocks(ast) do
    {_, acc} =
      Macro.prewalk(ast, [], fn
        {:|>, _, [_, {_, _, [[do: _]]}]} = node, acc -> {[], [node | acc]}
        [do: _] = node, acc -> {[], [node | acc]}
        node, acc -> {node, acc}
      end)

    acc
  end

  defp fun_cap(fun, meta, arity, {:&, cap_meta, [{:/, slash_meta, _}]}) do
    args = if is_integer(arity), do: Enum.map(1..arity//1, &{:&, [], [&1]}), else: [{:&, [], []}]
    # Remember where the capture is, so the finding can cover `&Mod.fun/1`.
    where = [
      capture: {cap_meta[:line], cap_meta[:column], slash_meta[:line], slash_meta[:column], arity}
    ]

    {fun, where ++ meta, args}
  end

  @doc "Local calls (and same-named nodes) `type` in the def's body."
  def local_funs(d, type), do: Map.get(d.locals, type, [])

  @doc "Remote calls `Alias.type`, any alias whose last part is `last`."
  def aliased_funs(d, type, last),
    do: d.remotes |> Map.get(type, []) |> Enum.filter(&aliased_call?(&1, type, last))

  defp strict_funs(d, type, aliases) do
    d.remotes
    |> Map.get(type, [])
    |> Enum.filter(&match?({{:., _, [{:__aliases__, _, ^aliases}, _]}, _, _}, &1))
  end

  defp erlang_funs(d, type, module) do
    d.remotes |> Map.get(type, []) |> Enum.filter(&match?({{:., _, [^module, _]}, _, _}, &1))
  end

  defp aliased_call?({{:., _, [{:__aliases__, _, aliases}, type]}, _, _}, type, last),
    do: List.last(aliases) === last

  defp aliased_call?(_, _, _), do: false

  @doc "True when `call` is the right-hand side of a pipe inside the def."
  def piped?(d, call), do: call in d.pipes

  @doc """
  Calls of `type` in def entry `d` with the variables of argument `idx` (a piped call counts the
  pipe as argument 0). `module`: nil (local calls), [:Alias, ...] (exact alias), {:required, :Last}
  (any alias ending in Last), :Last (aliased or local) or {:erlang, :mod}. Returns [{call, vars}].
  """
  def vars_and_meta(d, idx, type, module) do
    pipefuns = d.pipes |> Enum.filter(&pipe_match?(&1, type, module)) |> Enum.uniq()
    pipevars = pipefuns_vars(pipefuns, d.node, idx)
    vars = funs_vars(get_funs(d, type, module) -- pipefuns, idx)
    vars ++ pipevars
  end

  defp pipe_match?(rhs, type, nil), do: match?({^type, _, _}, rhs)
  defp pipe_match?(rhs, type, {:erlang, mod}), do: match?({{:., _, [^mod, ^type]}, _, _}, rhs)

  defp pipe_match?(rhs, type, list) when is_list(list),
    do: match?({{:., _, [{:__aliases__, _, ^list}, ^type]}, _, _}, rhs)

  defp pipe_match?(rhs, type, {:required, last}), do: aliased_call?(rhs, type, last)

  defp pipe_match?(rhs, type, last),
    do: aliased_call?(rhs, type, last) or match?({^type, _, _}, rhs)

  defp get_funs(d, type, nil), do: local_funs(d, type)
  defp get_funs(d, type, {:erlang, mod}), do: erlang_funs(d, type, mod)
  defp get_funs(d, type, module) when is_list(module), do: strict_funs(d, type, module)
  defp get_funs(d, type, {:required, module}), do: aliased_funs(d, type, module)
  defp get_funs(d, type, module), do: aliased_funs(d, type, module) ++ local_funs(d, type)

  defp pipefuns_vars(pipefuns, fun, 0) do
    pipefuns |> Enum.map(&{&1, pipe_val(fun, &1)}) |> normalize_reject()
  end

  defp pipefuns_vars(pipefuns, _fun, idx) do
    pipefuns |> Enum.map(&{&1, extract_at(&1, idx - 1)}) |> normalize_reject()
  end

  defp funs_vars(funs, idx),
    do: funs |> Enum.map(&{&1, extract_at(&1, idx)}) |> normalize_reject()

  defp normalize_reject(pairs) do
    pairs
    |> Enum.map(fn
      {call, opts} when is_list(opts) -> {call, List.flatten(opts)}
      {call, opt} -> {call, [opt]}
    end)
    |> Enum.reject(fn {_, vars} -> vars == [] end)
  end

  # ---------------------------------------------------------------------------------------------
  # Variable extraction (Sobelow's extract_opts / parse_opts)

  defp extract_at({_, _, nil}, _idx), do: []
  defp extract_at({_, _, opts}, idx) when is_list(opts), do: parse_opts(Enum.at(opts, idx))
  defp extract_at(_, _), do: []

  defp extract_opts({:send_resp, _, nil}), do: []
  defp extract_opts({:send_resp, _, opts}) when is_list(opts), do: parse_opts(List.last(opts))
  defp extract_opts({{:., _, _}, _, _} = fun), do: parse_opts(fun)
  defp extract_opts({:<<>>, _, opts}) when is_list(opts), do: Enum.map(opts, &interp/1)
  defp extract_opts({val, _, nil}), do: [val]
  defp extract_opts({val, _, []}), do: [val]
  defp extract_opts({_, _, opts}) when is_list(opts), do: Enum.map(opts, &parse_opts/1)
  defp extract_opts(opts) when is_list(opts), do: Enum.map(opts, &parse_opts/1)
  defp extract_opts(_), do: []

  @doc false
  def parse_opts({:@, _, _}), do: []
  def parse_opts({key, _, nil}), do: key

  def parse_opts({:<<>>, _, opts}) when is_list(opts),
    do: opts |> Enum.map(&interp/1) |> List.flatten()

  def parse_opts({{:., _, [Access, :get]}, _, [{{:., _, [{:conn, _, nil}, :params]}, _, _}, _]}),
    do: "conn.params"

  def parse_opts({{:., _, [Access, :get]}, _, [first | _]}) do
    case first do
      {val, _, _} when is_atom(val) -> val
      # Nested access (`params["a"]["b"]`): name the innermost container instead of a tuple.
      other -> parse_opts(other)
    end
  end

  # Sobelow names the module of an aliased call (`"Elixir.String"`); we build the same text
  # without creating atoms, since the helper parses untrusted code.
  def parse_opts({{:., _, [{:__aliases__, _, module}, _func]}, _, _}) do
    if Enum.all?(module, &is_atom/1),
      do: "Elixir." <> Enum.map_join(module, ".", &Atom.to_string/1),
      else: Macro.to_string({:__aliases__, [], module})
  end

  def parse_opts({{:., _, [{val, _, nil}, _]}, _, _}) when is_atom(val), do: val
  def parse_opts({:., _, [{val, _, nil}, _]}) when is_atom(val), do: val
  def parse_opts({{:., _, opts}, _, _}), do: parse_opts(opts)
  def parse_opts({:&, _, [i]} = cap) when is_integer(i), do: Macro.to_string(cap)

  def parse_opts({fun, _, opts}) when fun in @operators and is_list(opts),
    do: Enum.map(opts, &parse_opts/1)

  def parse_opts({fun, _, _}) when fun in [:sigil_s, :sigil_e], do: []
  def parse_opts({fun, _, opts}) when is_list(opts) and is_atom(fun), do: fun
  def parse_opts(opts) when is_tuple(opts), do: parse_opts(Tuple.to_list(opts))
  def parse_opts(opts) when is_list(opts), do: Enum.map(opts, &parse_opts/1)
  def parse_opts(_), do: []

  defp interp({key, _, nil}), do: key
  defp interp({:"::", _, opts}), do: interp(opts)

  defp interp([{{:., _, [Kernel, :to_string]}, _, vars}, _]) when is_list(vars),
    do: Enum.map(vars, &parse_opts/1)

  defp interp({{:., _, [Kernel, :to_string]}, _, opts}) when is_list(opts),
    do: Enum.map(opts, &parse_opts/1)

  defp interp({:<<>>, _, opts}) when is_list(opts), do: Enum.map(opts, &interp/1)
  defp interp(_), do: []

  # The value piped into `pipefun` (Sobelow's get_pipe_val): the previous stage's call when the
  # pipe is longer, else the left-hand expression.
  defp pipe_val(ast, pipefun) do
    {_, acc} = Macro.prewalk(ast, [], &pipe_val_cb(&1, &2, pipefun))
    acc
  end

  defp pipe_val_cb({:|>, _, [{:|>, _, opts}, pipefun]}, acc, pipefun),
    do: {[], [extract_opts(List.last(opts)) | acc]}

  defp pipe_val_cb({:|>, _, [opts, pipefun]}, acc, pipefun), do: {[], [extract_opts(opts) | acc]}

  defp pipe_val_cb({:|>, _, [{fun, _, funopts} = opts, maybe_pipe]} = node, acc, pipe)
       when fun != :|> do
    cond do
      contains?(maybe_pipe, pipe) -> {maybe_pipe, acc}
      contains?(opts, pipe) -> {[], [extract_opts(funopts) | acc]}
      true -> {node, acc}
    end
  end

  defp pipe_val_cb(node, acc, _pipe), do: {node, acc}

  defp contains?(ast, target) do
    {_, found} =
      Macro.prewalk(ast, false, fn
        ^target, _ -> {[], true}
        node, found -> {node, found}
      end)

    found
  end

  # ---------------------------------------------------------------------------------------------
  # Ranges and source text

  @doc "{line, column, end_line, end_column} of a call (end exclusive), precise where the AST allows."
  def call_range(ctx, {_, meta, _} = call) do
    lines = ctx_lines(ctx)

    case meta[:capture] do
      {l, c, sl, sc, arity} ->
        {l, c, sl, sc + 1 + String.length(to_string(arity))}

      nil ->
        {l, c} = call_start(call, lines)

        {el, ec} =
          case node_end(call, lines) do
            {el, ec} = pos when is_integer(el) and is_integer(ec) and {el, ec} > {l, c} -> pos
            _ -> line_end(lines, l)
          end

        {l, c, el, ec}
    end
  end

  defp call_start({{:., dot, [{:__aliases__, ameta, _}, _]}, meta, _}, _lines),
    do:
      {ameta[:line] || dot[:line] || meta[:line], ameta[:column] || dot[:column] || meta[:column]}

  defp call_start({{:., dot, [mod, _]}, meta, _}, lines) when is_atom(mod) do
    l = dot[:line] || meta[:line]
    text = inspect(mod)
    width = String.length(text)
    start = (dot[:column] || 0) - width

    cond do
      # Interpolated atoms (`:"a#{b}"`) are binary_to_atom calls that start at the colon.
      meta[:delimiter] != nil -> {meta[:line], meta[:column]}
      start >= 1 and text_at(lines, l, start, width) == text -> {l, start}
      true -> {meta[:line] || l || 1, meta[:column] || dot[:column] || 1}
    end
  end

  defp call_start({_, meta, _}, _lines), do: {meta[:line] || 1, meta[:column] || 1}

  defp node_end({_, meta, _} = node, lines) when is_list(meta) do
    cond do
      meta[:closing] ->
        {meta[:closing][:line], meta[:closing][:column] + 1}

      meta[:end] ->
        {meta[:end][:line], meta[:end][:column] + 3}

      meta[:delimiter] && match?({{:., _, [:erlang, :binary_to_atom]}, _, _}, node) ->
        atom_end(lines, meta[:line], meta[:column], meta[:delimiter])

      true ->
        plain_end(node, lines)
    end
  end

  defp node_end(_, _), do: nil

  defp plain_end({name, meta, ctx}, _lines) when is_atom(name) and is_atom(ctx) do
    if meta[:column], do: {meta[:line], meta[:column] + String.length(Atom.to_string(name))}
  end

  defp plain_end({:__aliases__, meta, parts}, _lines) do
    last = meta[:last] || meta
    part = List.last(parts)

    if is_atom(part) and is_integer(last[:column]),
      do: {last[:line], last[:column] + String.length(Atom.to_string(part))}
  end

  defp plain_end({:@, _, [{name, m, _}]}, _lines) when is_atom(name) do
    if m[:column], do: {m[:line], m[:column] + String.length(Atom.to_string(name))}
  end

  defp plain_end({{:., _, [_, name]}, meta, []}, _lines) when is_atom(name) do
    if meta[:column], do: {meta[:line], meta[:column] + String.length(Atom.to_string(name))}
  end

  defp plain_end({_, _, args}, lines) when is_list(args) and args != [],
    do: node_end(List.last(args), lines)

  defp plain_end(_, _), do: nil

  # End of `:"..."` on one line: the first unescaped closing quote outside `#{...}`.
  defp atom_end(lines, line, col, quote) do
    text = line_at(lines, line)
    chars = text |> String.graphemes() |> Enum.drop(col + 1)

    case scan_quote(chars, col + 2, 0, quote) do
      nil -> nil
      end_col -> {line, end_col}
    end
  end

  defp scan_quote([], _col, _depth, _q), do: nil
  defp scan_quote(["\\", _ | rest], col, depth, q), do: scan_quote(rest, col + 2, depth, q)
  defp scan_quote(["#", "{" | rest], col, depth, q), do: scan_quote(rest, col + 2, depth + 1, q)

  defp scan_quote(["}" | rest], col, depth, q) when depth > 0,
    do: scan_quote(rest, col + 1, depth - 1, q)

  defp scan_quote([q | _], col, 0, q), do: col + 1
  defp scan_quote([_ | rest], col, depth, q), do: scan_quote(rest, col + 1, depth, q)

  defp line_end(lines, line) do
    text = line_at(lines, line)
    {line, String.length(String.trim_trailing(text)) + 1}
  end

  @doc "Source lines of the context as a tuple (the engine already passes one)."
  def ctx_lines(ctx) do
    case ctx[:lines] do
      lines when is_tuple(lines) -> lines
      lines when is_list(lines) -> List.to_tuple(lines)
      nil -> (ctx[:source] || "") |> String.split(["\r\n", "\n"]) |> List.to_tuple()
    end
  end

  @doc "Text of 1-based line `n` (\"\" when out of range)."
  def line_at(lines, n) when is_tuple(lines) and n >= 1 and n <= tuple_size(lines),
    do: elem(lines, n - 1)

  def line_at(_lines, _n), do: ""

  @doc "Text of `width` graphemes at (line, column)."
  def text_at(lines, line, col, width),
    do: lines |> line_at(line) |> String.graphemes() |> Enum.slice(col - 1, width) |> Enum.join()

  @doc "Callee text for the trigger field: `String.to_atom`, `:erlang.binary_to_term`, `send_resp`."
  def callee_text({{:., _, [{:__aliases__, _, parts}, name]}, _, _}) when is_atom(name),
    do: Enum.map_join(parts, ".", &alias_part/1) <> "." <> Atom.to_string(name)

  def callee_text({{:., _, [mod, name]}, _, _}) when is_atom(mod) and is_atom(name),
    do: inspect(mod) <> "." <> Atom.to_string(name)

  def callee_text({name, _, _}) when is_atom(name), do: Atom.to_string(name)
  def callee_text(_), do: nil

  defp alias_part(p) when is_atom(p), do: Atom.to_string(p)
  defp alias_part(p), do: Macro.to_string(p)

  @doc "Edit replacing the function-name token of a remote call (or capture) with `new_name`."
  def rename_edit({{:., _, [_, name]}, meta, _}, new_name) when is_atom(name) do
    old = Atom.to_string(name)
    col = meta[:column]

    if meta[:line] && col,
      do: %{
        line: meta[:line],
        column: col,
        end_line: meta[:line],
        end_column: col + String.length(old),
        text: new_name
      },
      else: nil
  end

  def rename_edit(_, _), do: nil

  @doc "Attach a fix (title + edits) to a finding when every edit is known."
  def with_fix(finding, title, edits) do
    if edits != [] and Enum.all?(edits, &is_map/1),
      do: %{finding | fix: %{title: title, edits: edits}},
      else: finding
  end

  @doc "Standard Sobelow rule body: search `specs` = [{idx, type, module, message}] per def."
  def standard(ctx, rule_id, initial, specs, extra \\ fn _c, f, _d -> f end) do
    run_defs(
      ctx,
      rule_id,
      initial,
      fn d ->
        for {idx, type, module, message} <- specs,
            {call, vars} <- vars_and_meta(d, idx, type, module),
            do: {call, vars, message}
      end,
      extra
    )
  end
end
