# Shared AST and source helpers for the built-in rules (Credo- and Sobelow-mirroring).
#
# Positions are {line, column}, 1-based, columns in code points (what the Elixir
# tokenizer and `columns: true` report). Ranges are {start, stop} with stop exclusive.

defmodule ElixirCoder.Rules.AST do
  @moduledoc false

  @def_ops [:def, :defp, :defmacro, :defmacrop, :defguard, :defguardp]

  @doc """
  Pre-order walk; `fun.(node, parents, acc)` returns the new acc. Parents are innermost first.
  Given a rule ctx instead of an AST, it walks the whole file from a per-request cached index,
  so the many rules of one request share a single traversal.
  """
  def walk(%{ast: _} = ctx, acc, fun) do
    Enum.reduce(indexed(ctx), acc, fn {node, parents}, a -> fun.(node, parents, a) end)
  end

  def walk(ast, acc, fun), do: do_walk(ast, [], acc, fun)

  # Per-request cache key: the engine puts a fresh ref in ctx; hashing the source is the fallback
  # (hashing a large source on every lookup would cost more than the lookups save).
  defp cache_id(%{cache_key: key}), do: key
  defp cache_id(ctx), do: :erlang.phash2(ctx.source)

  @doc "Every node of the file with its parents, pre-order (cached for the request)."
  def indexed(ctx) do
    key = {__MODULE__, :indexed, cache_id(ctx)}

    case Process.get(key) do
      nil ->
        index = ctx.ast |> do_walk([], [], fn n, p, acc -> [{n, p} | acc] end) |> Enum.reverse()
        Process.put(key, index)
        index

      index ->
        index
    end
  end

  defp do_walk(node, parents, acc, fun) do
    acc = fun.(node, parents, acc)
    Enum.reduce(children(node), acc, fn child, a -> do_walk(child, [node | parents], a, fun) end)
  end

  @doc "Direct children of an AST node (call target, arguments, tuple and list elements)."
  def children({form, _meta, args}) when is_atom(form) and is_list(args), do: args
  def children({form, _meta, args}) when is_list(args), do: [form | args]
  def children({form, _meta, _ctx}) when not is_atom(form), do: [form]
  def children({a, b}), do: [a, b]
  def children(list) when is_list(list), do: list
  def children(_), do: []

  @doc "All nodes (pre-order) for which `pred.(node)` is true (of the whole file when given a ctx)."
  def find_all(%{ast: _} = ctx, pred), do: for({n, _} <- indexed(ctx), pred.(n), do: n)

  def find_all(ast, pred) do
    ast |> walk([], fn n, _p, acc -> if pred.(n), do: [n | acc], else: acc end) |> Enum.reverse()
  end

  def def_ops, do: @def_ops

  @doc "Start position of a node from its metadata (nil when unknown)."
  def pos({{:., _, [{:__aliases__, meta, _} | _]}, _, _}), do: meta_pos(meta)
  def pos({{:., dot_meta, [left, _]}, meta, _}) when is_atom(left), do: meta_pos(dot_meta) |> erl_start(left, meta)
  def pos({:__aliases__, meta, _}), do: meta_pos(meta)
  def pos({_, meta, _}) when is_list(meta), do: meta_pos(meta)
  def pos(_), do: nil

  # `:os.cmd` — the dot is at the end of `:os`; the module atom starts before it.
  defp erl_start(nil, _left, meta), do: meta_pos(meta)
  defp erl_start({l, c}, left, _meta), do: {l, max(c - String.length(inspect(left)), 1)}

  def meta_pos(meta) do
    case {meta[:line], meta[:column]} do
      {l, c} when is_integer(l) and is_integer(c) -> {l, c}
      _ -> nil
    end
  end

  def line(node) do
    case node do
      {{:., _, [{:__aliases__, meta, _} | _]}, _, _} -> meta[:line]
      {_, meta, _} when is_list(meta) -> meta[:line]
      _ -> nil
    end
  end

  @doc "Position just after the closing delimiter recorded in token metadata (`)` or `end`)."
  def closing_end({_, meta, _}) when is_list(meta) do
    cond do
      c = meta[:end] -> {c[:line], c[:column] + 3}
      c = meta[:closing] -> {c[:line], c[:column] + 1}
      true -> nil
    end
  end

  def closing_end(_), do: nil

  @doc "Name (atom) and argument list of a def head, looking through `when`."
  def def_head({op, _, [{:when, _, [head | _]} | _]}) when op in @def_ops, do: def_head({op, nil, [head]})
  def def_head({op, _, [{name, meta, args} | _]}) when op in @def_ops and is_atom(name), do: {name, meta, args}
  def def_head(_), do: nil

  @doc "The keyword body of a block call: `[do: ..., else: ...]` (empty when absent)."
  def block_kw({_, _, args}) when is_list(args) do
    case List.last(args) do
      kw when is_list(kw) -> if Keyword.keyword?(kw), do: kw, else: []
      _ -> []
    end
  end

  def block_kw(_), do: []

  @doc "Statements of a block body."
  def statements({:__block__, _, stmts}), do: stmts
  def statements(nil), do: []
  def statements(other), do: [other]

  @doc "Strip metadata for structural comparison."
  def strip(ast), do: Macro.prewalk(ast, fn {a, m, b} when is_list(m) -> {a, [], b}; x -> x end)

  @doc "Module name parts of a `defmodule` node as a string."
  def module_name({:defmodule, _, [{:__aliases__, _, parts} | _]}) do
    Enum.map_join(parts, ".", fn
      p when is_atom(p) -> p |> Atom.to_string() |> String.replace_prefix("Elixir.", "")
      {:__MODULE__, _, _} -> "__MODULE__"
      _ -> "<Unknown Module Name>"
    end)
  end

  def module_name(_), do: "<Unknown Module Name>"

  @doc "The remote-call target as a string, e.g. \"IO.inspect\", \":os.cmd\"."
  def call_name({{:., _, [{:__aliases__, _, parts}, fun]}, _, args}) when is_atom(fun) and is_list(args) do
    Enum.map_join(parts, ".", &to_string/1) <> "." <> Atom.to_string(fun)
  end

  def call_name({{:., _, [mod, fun]}, _, args}) when is_atom(mod) and is_atom(fun) and is_list(args) do
    inspect(mod) <> "." <> Atom.to_string(fun)
  end

  def call_name({fun, _, args}) when is_atom(fun) and is_list(args), do: Atom.to_string(fun)
  def call_name(_), do: nil

  # ---------------------------------------------------------------- source text

  @doc "Source line (1-based), without the newline."
  def line_text(ctx, n) when is_integer(n) and n >= 1 do
    case ctx.lines do
      t when is_tuple(t) and n <= tuple_size(t) -> elem(t, n - 1)
      _ -> ""
    end
  end

  def line_text(_ctx, _), do: ""

  @doc "Text between two positions (stop exclusive)."
  def slice(ctx, {l1, c1}, {l2, c2}) do
    if l1 == l2 do
      ctx |> line_text(l1) |> cp_slice(c1 - 1, c2 - c1)
    else
      first = ctx |> line_text(l1) |> cp_drop(c1 - 1)
      mid = if l2 - l1 > 1, do: Enum.map((l1 + 1)..(l2 - 1), &line_text(ctx, &1)), else: []
      last = ctx |> line_text(l2) |> cp_slice(0, c2 - 1)
      Enum.join([first | mid] ++ [last], "\n")
    end
  end

  def cp_slice(str, start, len) when len >= 0 do
    str |> String.to_charlist() |> Enum.drop(start) |> Enum.take(len) |> List.to_string()
  end

  def cp_slice(_str, _start, _len), do: ""

  def cp_drop(str, n), do: str |> String.to_charlist() |> Enum.drop(n) |> List.to_string()
  def cp_len(str), do: str |> String.to_charlist() |> length()

  @doc "Column (code points) of the first occurrence of `trigger` on a line, as Credo locates triggers."
  def find_column(ctx, line, trigger) when is_binary(trigger) and trigger != "" do
    text = line_text(ctx, line)
    word? = String.match?(trigger, ~r/^\w/u)
    pattern = if word?, do: ~r/(?<![\w.])#{Regex.escape(trigger)}/u, else: ~r/#{Regex.escape(trigger)}/u

    case Regex.run(pattern, text, return: :index) || Regex.run(~r/#{Regex.escape(trigger)}/u, text, return: :index) do
      [{byte, _} | _] -> cp_len(binary_part(text, 0, byte)) + 1
      _ -> nil
    end
  end

  def find_column(_ctx, _line, _trigger), do: nil

  # ---------------------------------------------------------------- tokens

  @doc "Tokens of the source (cached in the ctx's process dictionary slot)."
  def tokens(ctx) do
    key = {__MODULE__, :tokens, cache_id(ctx)}

    case Process.get(key) do
      nil ->
        toks =
          case :elixir_tokenizer.tokenize(String.to_charlist(ctx.source), 1, 1, []) do
            {:ok, _, _, _, toks} -> toks
            {:ok, toks} -> toks
            _ -> []
          end

        Process.put(key, toks)
        toks

      toks ->
        toks
    end
  end

  def token_pos(tok) do
    case elem(tok, 1) do
      {l, c, _} -> {l, c}
      _ -> nil
    end
  end

  @doc """
  Argument spans of a parenthesised call whose `(` is at `open`: a list of {start, stop}
  positions (stop exclusive, surrounding whitespace excluded) and the position of `)`.
  """
  def paren_args(ctx, open) do
    toks = ctx |> tokens() |> Enum.drop_while(fn t -> token_pos(t) != open end)

    case toks do
      [{:"(", _} | rest] -> scan_args(rest, 0, [], [], ctx)
      _ -> nil
    end
  end

  @closing [:")", :"]", :"}", :">>", :end]

  defp scan_args([], _d, _cur, _acc, _ctx), do: nil

  defp scan_args([tok | rest], depth, cur, acc, ctx) do
    kind = elem(tok, 0)

    cond do
      depth == 0 and kind == :")" ->
        close = token_pos(tok)
        {Enum.reverse(finish_arg(cur, close, acc, ctx)) |> Enum.reject(&is_nil/1), close}

      depth == 0 and kind == :"," ->
        scan_args(rest, depth, [], finish_arg(cur, token_pos(tok), acc, ctx), ctx)

      kind in @closing ->
        scan_args(rest, depth - 1, [tok | cur], acc, ctx)

      kind in [:"(", :"[", :"{", :"<<", :fn, :do] ->
        scan_args(rest, depth + 1, [tok | cur], acc, ctx)

      true ->
        scan_args(rest, depth, [tok | cur], acc, ctx)
    end
  end

  defp finish_arg([], _stop, acc, _ctx), do: acc

  defp finish_arg(cur, stop, acc, ctx) do
    first = cur |> List.last() |> token_pos()
    {sl, sc} = first
    text = slice(ctx, first, stop)
    trimmed = String.trim_trailing(text)
    [{first, advance({sl, sc}, trimmed)} | acc]
  end

  @doc "Position after `text` when it starts at `pos`."
  def advance({l, c}, text) do
    parts = String.split(text, "\n")

    case parts do
      [one] -> {l, c + cp_len(one)}
      many -> {l + length(many) - 1, cp_len(List.last(many)) + 1}
    end
  end

  @doc "Position of the first token of kind `kind` at or after `from`."
  def next_token(ctx, from, kind) do
    ctx
    |> tokens()
    |> Enum.find(fn t -> elem(t, 0) == kind and (token_pos(t) || {0, 0}) >= from end)
    |> case do
      nil -> nil
      t -> token_pos(t)
    end
  end

  # ---------------------------------------------------------------- lexical regions

  @doc """
  String, heredoc, sigil and comment regions of the source, from a small lexer:
  a list of {kind, start, stop} (positions; for literals the content only, for comments
  from `#` to end of line) with kind in :string, :charlist, :heredoc, :sigil, :comment.
  """
  def regions(ctx) do
    key = {__MODULE__, :regions, cache_id(ctx)}

    case Process.get(key) do
      nil ->
        r = lex(String.to_charlist(ctx.source), 1, 1, []) |> Enum.reverse()
        Process.put(key, r)
        r

      r ->
        r
    end
  end

  defp lex([], _l, _c, acc), do: acc
  defp lex([?\n | rest], l, _c, acc), do: lex(rest, l + 1, 1, acc)

  defp lex([?# | rest], l, c, acc) do
    {body, rest2} = Enum.split_while(rest, &(&1 != ?\n))
    lex(rest2, l, c + 1 + length(body), [{:comment, {l, c}, {l, c + 1 + length(body)}} | acc])
  end

  defp lex([??, ?\\, _ch | rest], l, c, acc), do: lex(rest, l, c + 3, acc)
  defp lex([??, ch | rest], l, c, acc) when ch != ?\n, do: lex(rest, l, c + 2, acc)

  defp lex([q, q, q | rest], l, c, acc) when q in [?", ?'] do
    # heredoc: content starts on the next line, ends before the closing line's delimiter
    {_, rest1} = Enum.split_while(rest, &(&1 != ?\n))
    skipped = length(rest) - length(rest1)
    {rest2, l2, c2, stop} = heredoc_body(rest1, l, c + 3 + skipped, q)
    lex(rest2, l2, c2, [{:heredoc, {l + 1, 1}, stop} | acc])
  end

  defp lex([q | rest], l, c, acc) when q in [?", ?'] do
    {rest2, l2, c2} = quoted(rest, l, c + 1, q, q)
    kind = if q == ?", do: :string, else: :charlist
    lex(tl_safe(rest2), l2, c2 + 1, [{kind, {l, c + 1}, {l2, c2}} | acc])
  end

  defp lex([?~, s | rest], l, c, acc) when s in ?a..?z or s in ?A..?Z do
    {mods, rest1} = Enum.split_while(rest, fn ch -> ch in ?A..?Z end)
    c1 = c + 2 + length(mods)

    case rest1 do
      [q, q, q | rest2] when q in [?", ?'] ->
        {_, rest3} = Enum.split_while(rest2, &(&1 != ?\n))
        {rest4, l2, c2, stop} = heredoc_body(rest3, l, c1 + 3 + length(rest2) - length(rest3), q)
        lex(skip_mods(rest4), l2, c2 + mods_len(rest4), [{:heredoc, {l + 1, 1}, stop} | acc])

      [open | rest2] ->
        close = closing_delim(open)

        if close do
          {rest3, l2, c2} = quoted(rest2, l, c1 + 1, open, close)
          rest4 = tl_safe(rest3)
          lex(skip_mods(rest4), l2, c2 + 1 + mods_len(rest4), [{:sigil, {l, c1 + 1}, {l2, c2}} | acc])
        else
          lex(rest1, l, c1, acc)
        end

      [] ->
        acc
    end
  end

  defp lex([_ | rest], l, c, acc), do: lex(rest, l, c + 1, acc)

  defp tl_safe([_ | t]), do: t
  defp tl_safe([]), do: []
  defp skip_mods(rest), do: Enum.drop_while(rest, fn ch -> ch in ?a..?z or ch in ?A..?Z end)
  defp mods_len(rest), do: length(rest) - length(skip_mods(rest))

  defp closing_delim(ch) do
    case ch do
      ?( -> ?)
      ?[ -> ?]
      ?{ -> ?}
      ?< -> ?>
      ch when ch in [?/, ?|, ?", ?'] -> ch
      _ -> nil
    end
  end

  # Returns {rest_starting_at_closing_delimiter, line, col_of_closing}.
  defp quoted([], l, c, _open, _close), do: {[], l, c}
  defp quoted([?\\, ?\n | rest], l, _c, o, cl), do: quoted(rest, l + 1, 1, o, cl)
  defp quoted([?\\, _ | rest], l, c, o, cl), do: quoted(rest, l, c + 2, o, cl)

  defp quoted([?#, ?{ | rest], l, c, o, cl) when o in [?", ?'] do
    {rest2, l2, c2} = interpolation(rest, l, c + 2, 1)
    quoted(rest2, l2, c2, o, cl)
  end

  defp quoted([ch | _] = rest, l, c, _o, ch), do: {rest, l, c}
  defp quoted([?\n | rest], l, _c, o, cl), do: quoted(rest, l + 1, 1, o, cl)
  defp quoted([_ | rest], l, c, o, cl), do: quoted(rest, l, c + 1, o, cl)

  defp interpolation([], l, c, _d), do: {[], l, c}
  defp interpolation([?} | rest], l, c, 1), do: {rest, l, c + 1}
  defp interpolation([?} | rest], l, c, d), do: interpolation(rest, l, c + 1, d - 1)
  defp interpolation([?{ | rest], l, c, d), do: interpolation(rest, l, c + 1, d + 1)
  defp interpolation([?\n | rest], l, _c, d), do: interpolation(rest, l + 1, 1, d)

  defp interpolation([?" | rest], l, c, d) do
    {rest2, l2, c2} = quoted(rest, l, c + 1, ?", ?")
    interpolation(tl_safe(rest2), l2, c2 + 1, d)
  end

  defp interpolation([_ | rest], l, c, d), do: interpolation(rest, l, c + 1, d)

  # From the newline ending the opening line; stops at a line whose first non-blank chars are the delimiter.
  defp heredoc_body(rest, l, c, q) do
    heredoc_lines(rest, l, c, q)
  end

  defp heredoc_lines([?\n | rest], l, _c, q) do
    {indent, after_indent} = Enum.split_while(rest, &(&1 in [?\s, ?\t]))

    case after_indent do
      [^q, ^q, ^q | rest2] ->
        col = length(indent) + 1
        {rest2, l + 1, col + 3, {l + 1, col}}

      _ ->
        {line_chars, rest3} = Enum.split_while(rest, &(&1 != ?\n))
        _ = line_chars
        heredoc_lines(rest3, l + 1, 1, q)
    end
  end

  defp heredoc_lines([], l, c, _q), do: {[], l, c, {l, c}}
  defp heredoc_lines([_ | rest], l, c, q), do: heredoc_lines(rest, l, c + 1, q)

  @doc "True when `pos` lies inside one of the literal regions of the given kinds."
  def in_region?(regions, {l, c}, kinds) do
    Enum.any?(regions, fn {k, s, e} -> k in kinds and {l, c} >= s and {l, c} < e end)
  end

  @doc "True when `pos` lies inside a string/heredoc/sigil/charlist region of one of `kinds`."
  def in_literal?(ctx, {l, c}, kinds) do
    ctx
    |> regions_by_line()
    |> Map.get(l, [])
    |> Enum.any?(fn {k, f, t} -> k in kinds and c >= f and (t == :eol or c < t) end)
  end

  @doc "Source lines with the contents of the given literal kinds removed (Credo's blanking)."
  def blank_lines(ctx, kinds) do
    for n <- 1..tuple_size(ctx.lines), do: blank_line(ctx, n, kinds)
  end

  @doc "One source line with the contents of the given literal kinds removed."
  def blank_line(ctx, n, kinds) do
    text = line_text(ctx, n)

    spans =
      for {k, from, to} <- Map.get(regions_by_line(ctx), n, []), k in kinds, do: {from, to}

    if spans == [] do
      text
    else
      text
      |> String.to_charlist()
      |> Enum.with_index(1)
      |> Enum.reject(fn {_ch, i} -> Enum.any?(spans, fn {f, t} -> i >= f and (t == :eol or i < t) end) end)
      |> Enum.map(&elem(&1, 0))
      |> List.to_string()
    end
  end

  # line -> [{kind, from_col, to_col | :eol}] for every literal region touching the line
  defp regions_by_line(ctx) do
    key = {__MODULE__, :regions_by_line, cache_id(ctx)}

    case Process.get(key) do
      nil ->
        index =
          ctx
          |> regions()
          |> Enum.reject(fn {k, _, _} -> k == :comment end)
          |> Enum.reduce(%{}, fn {k, {l1, c1}, {l2, c2}}, acc ->
            Enum.reduce(l1..l2//1, acc, fn n, acc2 ->
              from = if n == l1, do: c1, else: 1
              to = if n == l2, do: c2, else: :eol
              Map.update(acc2, n, [{k, from, to}], &[{k, from, to} | &1])
            end)
          end)

        Process.put(key, index)
        index

      index ->
        index
    end
  end
end

defmodule ElixirCoder.Rules.CredoSupport do
  @moduledoc false
  # Credo's issue priorities (check base priority + priority of the enclosing scope),
  # finding construction and config comments (`# credo:disable-for-...`).

  alias ElixirCoder.Rules.AST

  @scope_def_ops [:def, :defp, :defmacro]
  @many_functions 5

  @doc "Build a Credo finding map; column defaults to where the trigger first appears on the line."
  def issue(ctx, mod, opts) do
    line = Keyword.fetch!(opts, :line)
    trigger = opts[:trigger]

    column =
      case Keyword.fetch(opts, :column) do
        {:ok, c} -> c
        :error -> if is_binary(trigger), do: AST.find_column(ctx, line, trigger), else: nil
      end

    %{
      rule: mod.id(),
      category: mod.category(),
      message: Keyword.fetch!(opts, :message),
      line: line,
      column: column,
      end_line: opts[:end_line],
      end_column: opts[:end_column],
      trigger: trigger,
      priority: mod.base_priority(),
      fix: opts[:fix]
    }
  end

  # ---------------------------------------------------------------- priorities

  def apply_scope_priorities([], _ctx), do: []

  def apply_scope_priorities(findings, %{ast: nil}), do: findings

  def apply_scope_priorities(findings, ctx) do
    {scope_at, prios} = scopes(ctx)

    Enum.map(findings, fn f ->
      scope = scope_at.(f.line)
      base = f.priority || 0
      %{f | priority: base + Map.get(prios, scope, 0), scope: scope}
    end)
  end

  @doc "Returns {line -> scope name fun, scope name -> priority map}, as Credo computes them."
  def scopes(ctx) do
    infos = ctx.ast |> scope_infos() |> Enum.with_index()
    nlines = tuple_size(ctx.lines)

    # for each line: the info visited last among those starting at or before it
    best =
      Enum.reduce(infos, %{}, fn {{line, _op, _name}, idx}, acc ->
        if is_integer(line), do: Map.update(acc, line, idx, &max(&1, idx)), else: acc
      end)

    by_idx = Map.new(infos, fn {info, idx} -> {idx, info} end)

    {table, _} =
      Enum.map_reduce(1..max(nlines, 1), -1, fn l, run ->
        run = max(run, Map.get(best, l, -1))
        name = if run >= 0, do: elem(Map.fetch!(by_idx, run), 2), else: ""
        {name || "", run}
      end)

    table = List.to_tuple(table)

    scope_at = fn l ->
      cond do
        l < 1 -> ""
        l <= tuple_size(table) -> elem(table, l - 1)
        true -> elem(table, tuple_size(table) - 1)
      end
    end

    per_line =
      AST.walk(ctx, %{}, fn node, _parents, acc ->
        case line_priority(node) do
          {line, p} when is_integer(line) -> Map.update(acc, line, [p], &(&1 ++ [p]))
          _ -> acc
        end
      end)

    base =
      per_line
      |> Enum.sort()
      |> Enum.map(fn {line, ps} -> {scope_at.(line), Enum.sum(ps)} end)
      |> Map.new()

    prios =
      Map.new(base, fn {name, p} ->
        parts = String.split(name, ".")

        if String.match?(List.last(parts), ~r/^[a-z]/) do
          mod = parts |> Enum.drop(-1) |> Enum.join(".")
          {name, p + Map.get(base, mod, 0)}
        else
          {name, p}
        end
      end)

    {scope_at, prios}
  end

  defp line_priority({:defmodule, meta, _} = node) do
    {meta[:line], if(def_count(node) >= @many_functions, do: 2, else: 1)}
  end

  defp line_priority({op, meta, [{_name, _m, _a} = head, _body]}) when op in @scope_def_ops do
    count =
      case head do
        {_, _, nil} -> 0
        {_, _, list} when is_list(list) -> length(list)
        _ -> 0
      end

    p =
      cond do
        count == 0 -> 0
        count in 1..2 -> 1
        count in 3..4 -> 2
        true -> 3
      end

    {meta[:line], p}
  end

  defp line_priority(_), do: nil

  defp def_count(module) do
    AST.walk(module, 0, fn
      {op, _, args}, parents, acc when op in @scope_def_ops and is_list(args) ->
        case parents do
          [{:@, _, _} | _] -> acc
          _ -> acc + 1
        end

      _, _, acc ->
        acc
    end)
  end

  # Scope infos in Credo's traversal order: {line, op, name}.
  defp scope_infos(ast), do: ast |> tm(nil, nil, []) |> Enum.reverse()

  defp tm({:defmodule, meta, args} = node, scope, _op, acc) when is_list(args) do
    name = join(scope, AST.module_name(node))
    acc = [{meta[:line], :defmodule, name} | acc]
    Enum.reduce(args, acc, &td(&1, name, :defmodule, &2))
  end

  defp tm({_, meta, _} = node, scope, op, acc) when is_list(meta) do
    acc = [{meta[:line], op, scope} | acc]
    Enum.reduce(AST.children(node), acc, &tm(&1, scope, op, &2))
  end

  defp tm(node, scope, op, acc), do: Enum.reduce(AST.children(node), acc, &tm(&1, scope, op, &2))

  defp td({:defmodule, _, args} = node, scope, _op, acc) when is_list(args), do: tm(node, scope, :defmodule, acc)

  defp td({op, meta, args} = node, scope, _cur, acc) when op in @scope_def_ops and is_list(args) do
    name =
      case node do
        {_, _, [{:when, _, [{fun, _, _} | _]}, _]} when is_atom(fun) -> fun
        {_, _, [{fun, _, _}, _]} when is_atom(fun) -> fun
        _ -> nil
      end

    [{meta[:line], op, join(scope, name && Atom.to_string(name))} | acc]
  end

  defp td({_, meta, _} = node, scope, op, acc) when is_list(meta) do
    acc = [{meta[:line], op, scope} | acc]
    Enum.reduce(AST.children(node), acc, &td(&1, scope, op, &2))
  end

  defp td(node, scope, op, acc), do: Enum.reduce(AST.children(node), acc, &td(&1, scope, op, &2))

  defp join(nil, part), do: part
  defp join(scope, nil), do: scope
  defp join(scope, part), do: scope <> "." <> part

  # ---------------------------------------------------------------- config comments

  @comment ~r/#\s*credo:([\w:-]+)\s*(.*)$/

  @doc "Drop findings disabled by `# credo:disable-for-...` comments."
  def apply_suppressions([], _ctx), do: []

  def apply_suppressions(findings, ctx) do
    directives = directives(ctx)

    if directives == [] do
      findings
    else
      Enum.reject(findings, fn f -> Enum.any?(directives, &suppresses?(&1, f)) end)
    end
  end

  def directives(ctx) do
    ctx.lines
    |> Tuple.to_list()
    |> Enum.with_index(1)
    |> Enum.flat_map(fn {text, n} ->
      case Regex.run(@comment, text) do
        [_, instr, rest] -> directive(instr, rest, n, tuple_size(ctx.lines))
        _ -> []
      end
    end)
  end

  defp directive(instr, rest, n, total) do
    checks = parse_checks(rest)

    range =
      case instr do
        "disable-for-this-file" -> {1, total}
        "disable-for-next-line" -> {n + 1, n + 1}
        "disable-for-previous-line" -> {n - 1, n - 1}
        "disable-for-lines:" <> count -> lines_range(count, n)
        _ -> nil
      end

    if range, do: [{range, checks}], else: []
  end

  defp lines_range(count, n) do
    case Integer.parse(count) do
      {k, ""} when k > 0 -> {n + 1, n + k}
      {k, ""} when k < 0 -> {n + k, n - 1}
      _ -> nil
    end
  end

  defp parse_checks(rest) do
    rest = String.trim(rest)

    cond do
      rest == "" ->
        :all

      String.starts_with?(rest, "/") and String.length(rest) > 1 ->
        src = rest |> String.trim_leading("/") |> String.replace(~r{/[a-z]*$}, "")

        case Regex.compile(src) do
          {:ok, re} -> {:regex, re}
          _ -> :all
        end

      true ->
        {:names, rest |> String.split(~r/[\s,]+/, trim: true) |> Enum.map(&String.replace_prefix(&1, "Elixir.", ""))}
    end
  end

  defp suppresses?({{from, to}, checks}, f) do
    f.line >= from and f.line <= to and matches?(checks, f.rule)
  end

  defp matches?(:all, _rule), do: true
  defp matches?({:regex, re}, rule), do: Regex.match?(re, rule)

  defp matches?({:names, names}, rule) do
    Enum.any?(names, fn n -> n == rule or "Credo.Check." <> n == rule end)
  end
end

defmodule ElixirCoder.Rules.CredoRule do
  @moduledoc false
  # `use ElixirCoder.Rules.CredoRule, priority: 10, ...` in a module named
  # ElixirCoder.Rules.Credo.<Category>.<Check>: derives the Credo id and category.

  defmacro __using__(opts) do
    quote do
      alias ElixirCoder.Rules.AST
      alias ElixirCoder.Rules.CredoSupport
      alias ElixirCoder.Rules.Fix

      @credo_parts __MODULE__ |> Module.split() |> Enum.drop(3)

      def id, do: "Credo.Check." <> Enum.join(@credo_parts, ".")
      def category, do: @credo_parts |> hd() |> String.downcase()
      def base_priority, do: unquote(Keyword.fetch!(opts, :priority))
      def default_enabled, do: unquote(Keyword.get(opts, :enabled, true))
      def param_defaults, do: unquote(Keyword.get(opts, :params, Macro.escape(%{})))
      def line_based?, do: unquote(Keyword.get(opts, :line_based, false))

      defp issue(ctx, opts), do: CredoSupport.issue(ctx, __MODULE__, opts)
    end
  end
end

defmodule ElixirCoder.Rules.Fix do
  @moduledoc false
  # Deterministic edit construction shared by the rules' autofixes.

  alias ElixirCoder.Rules.AST

  def edit({l1, c1}, {l2, c2}, text), do: %{line: l1, column: c1, end_line: l2, end_column: c2, text: text}

  def fix(title, edits) when is_list(edits), do: %{title: title, edits: edits}

  @doc "Delete whole lines from..to (inclusive) when nothing else shares them."
  def delete_lines(ctx, from, to) do
    last = tuple_size(ctx.lines)

    cond do
      to < last -> edit({from, 1}, {to + 1, 1}, "")
      # the last line has no newline after it: take the one before it instead
      from > 1 -> edit({from - 1, AST.cp_len(AST.line_text(ctx, from - 1)) + 1}, {to, AST.cp_len(AST.line_text(ctx, to)) + 1}, "")
      true -> edit({from, 1}, {to, AST.cp_len(AST.line_text(ctx, to)) + 1}, "")
    end
  end

  @doc "True when the node occupies its lines alone (only whitespace around it)."
  def alone_on_lines?(ctx, {l1, c1}, {l2, c2}) do
    head = AST.line_text(ctx, l1) |> AST.cp_slice(0, c1 - 1)
    tail = AST.line_text(ctx, l2) |> AST.cp_drop(c2 - 1)
    String.trim(head) == "" and (String.trim(tail) == "" or String.starts_with?(String.trim(tail), "#"))
  end

  @doc "Position right after the last non-whitespace character before `pos`."
  def end_of_previous_text(ctx, {l, c}) do
    text = ctx |> AST.line_text(l) |> AST.cp_slice(0, c - 1)

    if String.trim(text) == "" and l > 1 do
      prev = find_prev_nonblank(ctx, l - 1)
      {prev, AST.cp_len(String.trim_trailing(AST.line_text(ctx, prev))) + 1}
    else
      {l, AST.cp_len(String.trim_trailing(text)) + 1}
    end
  end

  defp find_prev_nonblank(_ctx, 1), do: 1

  defp find_prev_nonblank(ctx, l) do
    if String.trim(AST.line_text(ctx, l)) == "", do: find_prev_nonblank(ctx, l - 1), else: l
  end

  @doc "End position of a parenthesised call (after `)`), or nil."
  def call_end(call), do: AST.closing_end(call)

  @doc "Position of the `(` of a call with parentheses (right after its name)."
  def open_paren(ctx, call) do
    case {AST.pos(call), call} do
      {nil, _} -> nil
      {_start, {_, meta, _}} ->
        case meta[:closing] do
          nil -> nil
          _ -> AST.next_token(ctx, {meta[:line], meta[:column]}, :"(")
        end
    end
  end

  @doc "Texts of the arguments of a parenthesised call, or nil."
  def arg_texts(ctx, call) do
    with open when open != nil <- open_paren(ctx, call),
         {spans, _close} <- AST.paren_args(ctx, open) do
      Enum.map(spans, fn {s, e} -> AST.slice(ctx, s, e) end)
    else
      _ -> nil
    end
  end

  @doc "do/else/end positions of a block call such as if/unless (nil unless `do ... else ... end`)."
  def do_else_end(ctx, {_, meta, _}) do
    with do_m when do_m != nil <- meta[:do],
         end_m when end_m != nil <- meta[:end] do
      do_pos = {do_m[:line], do_m[:column]}
      end_pos = {end_m[:line], end_m[:column]}
      toks = ctx |> AST.tokens() |> Enum.drop_while(&(AST.token_pos(&1) != do_pos)) |> Enum.drop(1)
      else_pos = find_else(toks, 0, end_pos)
      if else_pos, do: {do_pos, else_pos, end_pos}, else: nil
    else
      _ -> nil
    end
  end

  defp find_else([], _d, _stop), do: nil

  defp find_else([tok | rest], depth, stop) do
    pos = AST.token_pos(tok)

    cond do
      pos >= stop -> nil
      depth == 0 and match?({:block_identifier, _, :else}, tok) -> pos
      elem(tok, 0) in [:do, :fn] -> find_else(rest, depth + 1, stop)
      elem(tok, 0) == :end -> find_else(rest, depth - 1, stop)
      true -> find_else(rest, depth, stop)
    end
  end

  @doc "Edits swapping the do- and else-bodies of `kw do A else B end`."
  def swap_branches(ctx, {do_pos, else_pos, end_pos}) do
    {dl, dc} = do_pos
    {el, ec} = else_pos
    do_body = AST.slice(ctx, {dl, dc + 2}, else_pos)
    else_body = AST.slice(ctx, {el, ec + 4}, end_pos)
    [edit({dl, dc + 2}, end_pos, else_body <> "else" <> do_body)]
  end

  @doc "Edit removing a leading `!` or `not` from the condition at `op_pos`."
  def drop_negation(ctx, {l, c}, op) do
    after_op = AST.line_text(ctx, l) |> AST.cp_drop(c - 1 + String.length(op))
    spaces = AST.cp_len(after_op) - AST.cp_len(String.trim_leading(after_op))
    edit({l, c}, {l, c + String.length(op) + spaces}, "")
  end
end
