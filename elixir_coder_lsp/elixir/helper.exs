# Elixir helper for elixir-coder-lsp: a long-lived BEAM process that answers JSON-lines requests.
#
# Protocol (one JSON object per line on stdin, one per line on stdout):
#   request  {"id": 1, "op": "parse", "args": {...}, "timeout_ms": 10000}
#   response {"id": 1, "ok": true, "result": ..., "atoms": [count, limit]}
#            {"id": 1, "ok": false, "error": {"kind": "...", "message": "..."}, "atoms": [count, limit]}
#   hello    {"id": null, "ok": true, "result": {"ready": true, ...}} once, when the boot is over
# Error kinds: bad_request, unknown_op, invalid_input, too_large, too_nested, timeout, recycle
# (atom table nearly full: start a fresh helper), syntax_error, internal; rules may add more.
# Every request runs in its own process (heap and time limited), so responses may arrive out of
# order. Stdout carries protocol lines only; logs go to stderr. EOF on stdin halts the VM.
#
# Extensions: every rules/*.exs next to this file is loaded at start; a module exporting
# __helper_ops__/0 (%{"op" => fun/1}) adds ops. Each fun takes the args map (string keys) and
# returns {:ok, term} or {:error, kind, message}. Args with a "code" string are checked first
# (size, UTF-8, nesting), so ops receive valid input. Useful from rules:
# ElixirCoder.Helper.Parse.string_to_quoted/1 (errors as maps), ElixirCoder.Helper.Summary.summarize/1,
# ElixirCoder.JSON.encode!/1 and decode/1. Rules files should only define modules: their compiled
# modules are cached (ELIXIR_CODER_HELPER_RULES_CACHE), so top-level side effects run only once.

defmodule ElixirCoder.JSON do
  @moduledoc "Small JSON encoder/decoder (Elixir 1.14 ships none and hex is unreachable)."

  import Bitwise

  @doc "Encodes maps (atom/string keys), lists, strings, numbers, booleans and nil as a JSON binary."
  @spec encode!(term()) :: binary()
  def encode!(term), do: IO.iodata_to_binary(encode_to_iodata!(term))

  @doc "Like encode!/1 but returns iodata."
  @spec encode_to_iodata!(term()) :: iodata()
  def encode_to_iodata!(term), do: value(term)

  defp value(nil), do: "null"
  defp value(true), do: "true"
  defp value(false), do: "false"
  defp value(atom) when is_atom(atom), do: string(Atom.to_string(atom))
  defp value(bin) when is_binary(bin), do: string(bin)
  defp value(int) when is_integer(int), do: Integer.to_string(int)
  defp value(float) when is_float(float), do: :erlang.float_to_binary(float, [:short])
  defp value(list) when is_list(list), do: [?[, join(Enum.map(list, &value/1)), ?]]

  defp value(%{__struct__: mod}) do
    raise ArgumentError, "cannot encode a #{inspect(mod)} struct as JSON; convert it to a map"
  end

  defp value(map) when is_map(map) do
    members = Enum.map(map, fn {k, v} -> [key(k), ?:, value(v)] end)
    [?{, join(members), ?}]
  end

  defp value(other), do: raise(ArgumentError, "cannot encode #{inspect(other)} as JSON")

  defp key(k) when is_binary(k), do: string(k)
  defp key(k) when is_atom(k) and k not in [nil, true, false], do: string(Atom.to_string(k))
  defp key(k) when is_integer(k), do: string(Integer.to_string(k))
  defp key(k), do: raise(ArgumentError, "cannot use #{inspect(k)} as a JSON object key")

  defp join([]), do: []
  defp join([first | rest]), do: [first | Enum.map(rest, &[?, | &1])]

  defp string(bin) do
    bin = if String.valid?(bin), do: bin, else: scrub(bin, [])
    [?", escape(bin, bin, 0, 0, []), ?"]
  end

  # Copies unescaped runs as sub-binaries instead of byte by byte.
  defp escape(<<c, rest::binary>>, orig, start, len, acc)
       when c < 0x20 or c == ?" or c == ?\\ do
    acc = [acc, binary_part(orig, start, len) | escape_char(c)]
    escape(rest, orig, start + len + 1, 0, acc)
  end

  defp escape(<<_, rest::binary>>, orig, start, len, acc),
    do: escape(rest, orig, start, len + 1, acc)

  defp escape(<<>>, orig, start, len, acc), do: [acc | binary_part(orig, start, len)]

  defp escape_char(?"), do: "\\\""
  defp escape_char(?\\), do: "\\\\"
  defp escape_char(?\n), do: "\\n"
  defp escape_char(?\r), do: "\\r"
  defp escape_char(?\t), do: "\\t"
  defp escape_char(8), do: "\\b"
  defp escape_char(12), do: "\\f"

  defp escape_char(c),
    do: ["\\u00", String.pad_leading(Integer.to_string(c, 16), 2, "0")]

  # Invalid UTF-8 must never reach the client: replace each bad byte with U+FFFD.
  defp scrub(<<c::utf8, rest::binary>>, acc), do: scrub(rest, [acc, <<c::utf8>>])
  defp scrub(<<_, rest::binary>>, acc), do: scrub(rest, [acc, "\uFFFD"])
  defp scrub(<<>>, acc), do: IO.iodata_to_binary(acc)

  @doc "Decodes one JSON document; objects become maps with string keys, null becomes nil."
  @spec decode(binary()) :: {:ok, term()} | {:error, String.t()}
  def decode(bin) when is_binary(bin) do
    {value, rest} = dvalue(skip_ws(bin))

    case skip_ws(rest) do
      "" -> {:ok, value}
      other -> fail("unexpected trailing data", other)
    end
  catch
    {:json_error, msg, rest} ->
      {:error, "#{msg} at byte #{byte_size(bin) - byte_size(rest)}"}
  end

  defp fail(msg, rest), do: throw({:json_error, msg, rest})

  defp skip_ws(<<c, rest::binary>>) when c in [?\s, ?\t, ?\r, ?\n], do: skip_ws(rest)
  defp skip_ws(bin), do: bin

  defp dvalue(<<?{, rest::binary>>), do: object(skip_ws(rest), %{})
  defp dvalue(<<?[, rest::binary>>), do: array(skip_ws(rest), [])
  defp dvalue(<<?", rest::binary>>), do: chars(rest, rest, 0, [])
  defp dvalue(<<"true", rest::binary>>), do: {true, rest}
  defp dvalue(<<"false", rest::binary>>), do: {false, rest}
  defp dvalue(<<"null", rest::binary>>), do: {nil, rest}
  defp dvalue(<<c, _::binary>> = bin) when c == ?- or c in ?0..?9, do: number(bin)
  defp dvalue(""), do: fail("unexpected end of input", "")
  defp dvalue(bin), do: fail("unexpected character", bin)

  defp object(<<?}, rest::binary>>, acc), do: {acc, rest}
  defp object(bin, acc), do: member(bin, acc)

  defp member(<<?", rest::binary>>, acc) do
    {key, rest} = chars(rest, rest, 0, [])

    rest =
      case skip_ws(rest) do
        <<?:, rest::binary>> -> skip_ws(rest)
        other -> fail("expected ':'", other)
      end

    {value, rest} = dvalue(rest)
    acc = Map.put(acc, key, value)

    case skip_ws(rest) do
      <<?,, rest::binary>> -> member(skip_ws(rest), acc)
      <<?}, rest::binary>> -> {acc, rest}
      other -> fail("expected ',' or '}'", other)
    end
  end

  defp member(bin, _acc), do: fail("expected a string key", bin)

  defp array(<<?], rest::binary>>, acc), do: {Enum.reverse(acc), rest}
  defp array(bin, acc), do: element(bin, acc)

  defp element(bin, acc) do
    {value, rest} = dvalue(bin)

    case skip_ws(rest) do
      <<?,, rest::binary>> -> element(skip_ws(rest), [value | acc])
      <<?], rest::binary>> -> {Enum.reverse([value | acc]), rest}
      other -> fail("expected ',' or ']'", other)
    end
  end

  # `run` is the input starting at the current unescaped run; `len` its length so far.
  defp chars(<<?", rest::binary>>, run, len, []), do: {binary_part(run, 0, len), rest}

  defp chars(<<?", rest::binary>>, run, len, acc),
    do: {IO.iodata_to_binary([acc | binary_part(run, 0, len)]), rest}

  defp chars(<<?\\, rest::binary>>, run, len, acc) do
    {piece, rest} = escape_seq(rest)
    chars(rest, rest, 0, [acc, binary_part(run, 0, len) | piece])
  end

  defp chars(<<c, _::binary>> = bin, _run, _len, _acc) when c < 0x20,
    do: fail("unescaped control character in string", bin)

  defp chars(<<_, rest::binary>>, run, len, acc), do: chars(rest, run, len + 1, acc)
  defp chars(<<>>, _run, _len, _acc), do: fail("unterminated string", "")

  defp escape_seq(<<?", rest::binary>>), do: {"\"", rest}
  defp escape_seq(<<?\\, rest::binary>>), do: {"\\", rest}
  defp escape_seq(<<?/, rest::binary>>), do: {"/", rest}
  defp escape_seq(<<?b, rest::binary>>), do: {<<8>>, rest}
  defp escape_seq(<<?f, rest::binary>>), do: {<<12>>, rest}
  defp escape_seq(<<?n, rest::binary>>), do: {"\n", rest}
  defp escape_seq(<<?r, rest::binary>>), do: {"\r", rest}
  defp escape_seq(<<?t, rest::binary>>), do: {"\t", rest}

  defp escape_seq(<<?u, hex::binary-size(4), rest::binary>> = bin) do
    cp = hex4(hex, bin)

    cond do
      cp in 0xD800..0xDBFF ->
        case rest do
          <<?\\, ?u, hex2::binary-size(4), rest2::binary>> ->
            low = hex4(hex2, rest)

            if low in 0xDC00..0xDFFF do
              {<<0x10000 + ((cp - 0xD800) <<< 10) + (low - 0xDC00)::utf8>>, rest2}
            else
              {surrogate_bytes(cp), rest}
            end

          _ ->
            {surrogate_bytes(cp), rest}
        end

      cp in 0xDC00..0xDFFF ->
        {surrogate_bytes(cp), rest}

      true ->
        {<<cp::utf8>>, rest}
    end
  end

  defp escape_seq(bin), do: fail("invalid escape sequence", bin)

  # A lone surrogate has no UTF-8 form; keep its 3-byte (WTF-8) form so the bytes stay invalid
  # UTF-8 and input validation reports them instead of silently changing the text.
  defp surrogate_bytes(cp),
    do: <<0xE0 ||| cp >>> 12, 0x80 ||| (cp >>> 6 &&& 0x3F), 0x80 ||| (cp &&& 0x3F)>>

  defp hex4(hex, at) do
    case Integer.parse(hex, 16) do
      {cp, ""} when cp >= 0 -> cp
      _ -> fail("invalid \\u escape", at)
    end
  end

  @number ~r/\A-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/

  defp number(bin) do
    case Regex.run(@number, bin, capture: :all) do
      [text] ->
        {String.to_integer(text), rest_after(bin, text)}

      [text | parts] ->
        frac = Enum.at(parts, 0, "")

        float_text =
          if frac == "", do: String.replace(text, ~r/[eE]/, ".0e", global: false), else: text

        {String.to_float(float_text), rest_after(bin, text)}

      nil ->
        fail("invalid number", bin)
    end
  end

  defp rest_after(bin, text),
    do: binary_part(bin, byte_size(text), byte_size(bin) - byte_size(text))
end

defmodule ElixirCoder.Helper.Parse do
  @moduledoc "Code.string_to_quoted/2 with errors turned into plain maps (1-based, code points)."

  # Quote warnings are style advice for humans; here they would only spam stderr.
  @options [columns: true, token_metadata: true, warn_on_unnecessary_quotes: false]

  @doc "Parses code; {:ok, ast} or {:error, %{line, column, end_line?, end_column?, message, token}}."
  @spec string_to_quoted(String.t(), keyword()) :: {:ok, Macro.t()} | {:error, map()}
  def string_to_quoted(code, extra \\ []) do
    case Code.string_to_quoted(code, Keyword.merge(@options, extra)) do
      {:ok, ast} -> {:ok, ast}
      {:error, error} -> {:error, error_map(error)}
    end
  rescue
    e -> {:error, exception_map(e)}
  catch
    kind, reason ->
      {:error,
       %{line: 1, column: 1, message: "parser failed: #{inspect({kind, reason})}", token: ""}}
  end

  @doc "Converts the error tuple of Code.string_to_quoted/2 into a map with a readable message."
  @spec error_map(term()) :: map()
  def error_map({meta, msg, token}) do
    token = to_text(token)

    message =
      case msg do
        {prefix, suffix} -> to_text(prefix) <> token <> to_text(suffix)
        msg -> join_message(to_text(msg), token)
      end

    meta
    |> position()
    |> Map.merge(%{message: String.trim(message), token: unquote_token(token)})
  end

  def error_map(other),
    do: %{line: 1, column: 1, message: "parse failed: #{inspect(other)}", token: ""}

  # "syntax error before: " with no token means the input ended early.
  defp join_message(msg, "") do
    if String.ends_with?(msg, ": "), do: msg <> "end of input", else: msg
  end

  defp join_message(msg, token), do: msg <> token

  defp position(line) when is_integer(line), do: %{line: line, column: 1}

  defp position(meta) when is_list(meta) do
    base = %{line: Keyword.get(meta, :line, 1), column: Keyword.get(meta, :column, 1)}

    Enum.reduce([:end_line, :end_column], base, fn key, acc ->
      case Keyword.get(meta, key) do
        value when is_integer(value) -> Map.put(acc, key, value)
        _ -> acc
      end
    end)
  end

  defp position(_), do: %{line: 1, column: 1}

  defp to_text(text) when is_binary(text), do: text
  defp to_text(text) when is_list(text), do: List.to_string(text)
  defp to_text(text), do: inspect(text)

  # The parser quotes tokens ("\"2\"", "'::'"); report the bare token.
  defp unquote_token(<<?", rest::binary>> = token) do
    if String.ends_with?(rest, "\"") and byte_size(rest) > 1,
      do: binary_part(rest, 0, byte_size(rest) - 1),
      else: token
  end

  defp unquote_token(<<?', rest::binary>> = token) do
    if String.ends_with?(rest, "'") and byte_size(rest) > 1,
      do: binary_part(rest, 0, byte_size(rest) - 1),
      else: token
  end

  defp unquote_token(token), do: token

  @doc "Turns a raised parser/formatter exception into the same map shape."
  @spec exception_map(Exception.t()) :: map()
  def exception_map(e) do
    line = Map.get(e, :line) || 1
    column = Map.get(e, :column) || 1
    description = Map.get(e, :description) || Exception.message(e)
    %{line: line, column: column, message: description, token: ""}
  end
end

defmodule ElixirCoder.Helper.Limits do
  @moduledoc "Cheap input checks run before any op that takes `code`."

  @default_max_bytes 2_000_000
  @default_max_depth 500

  @doc "Checks size, UTF-8 validity and nesting of args[\"code\"] when present."
  @spec check(map()) :: :ok | {:error, String.t(), String.t()}
  def check(%{"code" => code} = args) when is_binary(code) do
    max_bytes = positive(args["max_bytes"], @default_max_bytes)
    max_depth = positive(args["max_depth"], @default_max_depth)

    cond do
      byte_size(code) > max_bytes ->
        {:error, "too_large",
         "the code is #{byte_size(code)} bytes; the helper accepts at most #{max_bytes} bytes"}

      not String.valid?(code) ->
        {:error, "invalid_input",
         "the code is not valid UTF-8 (first bad byte at offset #{invalid_offset(code)})"}

      true ->
        case depth(code, max_depth) do
          :ok ->
            :ok

          {:too_deep, line} ->
            {:error, "too_nested",
             "the code nests brackets or do/fn blocks more than #{max_depth} levels deep " <>
               "(at line #{line}); the helper refuses input nested this deeply"}
        end
    end
  end

  def check(%{"code" => _}), do: {:error, "invalid_input", "args.code must be a string"}
  def check(_args), do: :ok

  defp positive(value, _default) when is_integer(value) and value > 0, do: value
  defp positive(_value, default), do: default

  defp invalid_offset(code), do: byte_size(code) - byte_size(first_invalid(code))

  defp first_invalid(<<_::utf8, rest::binary>>), do: first_invalid(rest)
  defp first_invalid(rest), do: rest

  @doc "Scans for nesting depth (brackets, do/fn ... end), skipping strings, comments and ?c."
  @spec depth(binary(), pos_integer()) :: :ok | {:too_deep, pos_integer()}
  def depth(code, max), do: scan(code, 0, max, 1, 0)

  # prev: the previous byte (0 at start), used to tell identifiers from keywords and ?c literals.
  defp scan(<<>>, _depth, _max, _line, _prev), do: :ok

  defp scan(<<c, rest::binary>>, depth, max, line, _prev) when c in [?(, ?[, ?{] do
    if depth + 1 > max, do: {:too_deep, line}, else: scan(rest, depth + 1, max, line, c)
  end

  defp scan(<<c, rest::binary>>, depth, max, line, _prev) when c in [?), ?], ?}],
    do: scan(rest, max(depth - 1, 0), max, line, c)

  defp scan(<<?\n, rest::binary>>, depth, max, line, _prev),
    do: scan(rest, depth, max, line + 1, ?\n)

  defp scan(<<?#, rest::binary>>, depth, max, line, _prev) do
    case :binary.split(rest, "\n") do
      [_comment, rest] -> scan(rest, depth, max, line + 1, ?\n)
      [_comment] -> :ok
    end
  end

  defp scan(<<q, rest::binary>>, depth, max, line, prev) when q in [?", ?'] do
    if ident?(prev) and q == ?' do
      scan(rest, depth, max, line, q)
    else
      {rest, line} = skip_string(rest, q, line)
      scan(rest, depth, max, line, q)
    end
  end

  defp scan(<<??, c, rest::binary>>, depth, max, line, prev) do
    if ident?(prev) do
      scan(<<c, rest::binary>>, depth, max, line, ??)
    else
      line = if c == ?\n, do: line + 1, else: line
      scan(rest, depth, max, line, c)
    end
  end

  defp scan(<<c, _::binary>> = bin, depth, max, line, prev)
       when (c in ?a..?z or c == ?_) and prev != ?: and prev != ?. do
    if ident?(prev) do
      <<_, rest::binary>> = bin
      scan(rest, depth, max, line, c)
    else
      {word, rest} = take_word(bin, 0)

      delta =
        case {word, rest} do
          {"do", <<?:, _::binary>>} -> 0
          {"do", _} -> 1
          {"fn", _} -> 1
          {"end", <<?:, _::binary>>} -> 0
          {"end", _} -> -1
          _ -> 0
        end

      depth = max(depth + delta, 0)
      if depth > max, do: {:too_deep, line}, else: scan(rest, depth, max, line, ?a)
    end
  end

  defp scan(<<c, rest::binary>>, depth, max, line, _prev), do: scan(rest, depth, max, line, c)

  defp take_word(bin, n) do
    case bin do
      <<_::binary-size(n), c, _::binary>>
      when c in ?a..?z or c in ?A..?Z or c in ?0..?9 or c in [?_, ??, ?!] ->
        take_word(bin, n + 1)

      _ ->
        <<word::binary-size(n), rest::binary>> = bin
        {word, rest}
    end
  end

  defp skip_string(<<?\\, ?\n, rest::binary>>, q, line), do: skip_string(rest, q, line + 1)
  defp skip_string(<<?\\, _, rest::binary>>, q, line), do: skip_string(rest, q, line)
  defp skip_string(<<?\n, rest::binary>>, q, line), do: skip_string(rest, q, line + 1)
  defp skip_string(<<q, rest::binary>>, q, line), do: {rest, line}
  defp skip_string(<<_, rest::binary>>, q, line), do: skip_string(rest, q, line)
  defp skip_string(<<>>, _q, line), do: {<<>>, line}

  defp ident?(c), do: c in ?a..?z or c in ?A..?Z or c in ?0..?9 or c in [?_, ??, ?!] or c >= 0x80
end

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

defmodule ElixirCoder.Helper.Ops do
  @moduledoc "Built-in ops."

  alias ElixirCoder.Helper.{Parse, Summary}

  @doc "The built-in op table; test ops `sleep` and `echo` only when ELIXIR_CODER_HELPER_TEST=1."
  @spec builtin() :: %{String.t() => (map() -> term())}
  def builtin do
    ops = %{
      "ping" => &ping/1,
      "stats" => &stats/1,
      "parse" => &parse/1,
      "summary" => &summary/1,
      "format" => &format/1
    }

    if System.get_env("ELIXIR_CODER_HELPER_TEST") == "1",
      do: Map.merge(ops, %{"sleep" => &sleep/1, "echo" => &{:ok, &1}}),
      else: ops
  end

  defp ping(_args), do: {:ok, "pong"}

  defp stats(_args) do
    {:ok,
     %{
       atom_count: :erlang.system_info(:atom_count),
       atom_limit: :erlang.system_info(:atom_limit),
       memory: :erlang.memory(:total),
       process_count: :erlang.system_info(:process_count),
       os_pid: String.to_integer(List.to_string(:os.getpid())),
       ops: ElixirCoder.Helper.Server.op_names(),
       rule_errors: ElixirCoder.Helper.Server.rule_errors()
     }}
  end

  defp parse(%{"code" => code}) when is_binary(code) do
    case Parse.string_to_quoted(code) do
      {:ok, _ast} -> {:ok, %{ok: true}}
      {:error, error} -> {:ok, Map.put(error, :ok, false)}
    end
  end

  defp parse(_), do: {:error, "invalid_input", "parse needs args.code (a string)"}

  defp summary(%{"code" => code}) when is_binary(code) do
    case Summary.summarize(code) do
      {:ok, summary} -> {:ok, summary}
      {:error, error} -> {:error, "syntax_error", describe(error)}
    end
  end

  defp summary(_), do: {:error, "invalid_input", "summary needs args.code (a string)"}

  defp format(%{"code" => code} = args) when is_binary(code) do
    line_length =
      case args["line_length"] do
        n when is_integer(n) and n > 0 -> n
        _ -> 98
      end

    formatted = code |> Code.format_string!(line_length: line_length) |> IO.iodata_to_binary()
    {:ok, if(formatted == "", do: "", else: formatted <> "\n")}
  rescue
    e -> {:error, "syntax_error", describe(Parse.exception_map(e))}
  end

  defp format(_), do: {:error, "invalid_input", "format needs args.code (a string)"}

  defp sleep(args) do
    Process.sleep(args["ms"] || 1000)
    {:ok, "slept"}
  end

  defp describe(%{line: line, column: column, message: message}),
    do: "line #{line}, column #{column}: #{message}"
end

defmodule ElixirCoder.Helper.Server do
  @moduledoc "Reads request lines, runs each in a limited process, writes responses in one place."

  alias ElixirCoder.JSON

  @default_timeout_ms 30_000
  # Refuse new work above this share of the atom table; the client recycles well before.
  @refuse_at 0.9
  # After stdin closes, in-flight requests get this long to finish.
  @drain_ms 10_000

  @doc "Runs the helper until stdin closes."
  @spec main(Path.t()) :: no_return()
  def main(dir) do
    :io.setopts(:standard_io, binary: true, encoding: :latin1)
    # Logger (and crash reports of plain processes) print to stdout by default: move them away.
    Logger.configure_backend(:console, device: :standard_error)
    {rule_ops, errors} = load_rules(dir)
    ops = Map.merge(rule_ops, ElixirCoder.Helper.Ops.builtin())
    :persistent_term.put({__MODULE__, :ops}, ops)
    :persistent_term.put({__MODULE__, :rule_errors}, errors)

    writer = spawn_link(fn -> writer_loop() end)
    dispatcher = spawn_link(fn -> dispatch_loop(writer, 0, :queue.new(), :open) end)
    # The hello line (id null) tells the client the boot is over, so its timeouts start now.
    hello = %{
      id: nil,
      ok: true,
      result: %{ready: true, ops: op_names(), rule_errors: errors},
      atoms: atoms()
    }

    send(writer, {:write, JSON.encode_to_iodata!(hello)})
    read_loop(dispatcher)
  end

  @doc "Names of all ops (built-in and from rules)."
  @spec op_names() :: [String.t()]
  def op_names, do: {__MODULE__, :ops} |> :persistent_term.get(%{}) |> Map.keys() |> Enum.sort()

  @doc "Messages for rules files that failed to load."
  @spec rule_errors() :: [String.t()]
  def rule_errors, do: :persistent_term.get({__MODULE__, :rule_errors}, [])

  @doc "Current [atom_count, atom_limit]."
  @spec atoms() :: [non_neg_integer()]
  def atoms, do: [:erlang.system_info(:atom_count), :erlang.system_info(:atom_limit)]

  defp max_heap_words do
    mb =
      case Integer.parse(System.get_env("ELIXIR_CODER_HELPER_MAX_HEAP_MB") || "") do
        {n, ""} when n > 0 -> n
        _ -> 1024
      end

    div(mb * 1024 * 1024, :erlang.system_info(:wordsize))
  end

  defp read_loop(dispatcher) do
    case IO.binread(:stdio, :line) do
      line when is_binary(line) ->
        line = String.trim_trailing(line, "\n")
        if line != "", do: send(dispatcher, {:line, line})
        read_loop(dispatcher)

      _eof_or_error ->
        # The client closed our stdin: finish what is in flight (bounded), then halt.
        send(dispatcher, :eof)
        Process.sleep(@drain_ms)
        System.halt(0)
    end
  end

  defp writer_loop do
    receive do
      {:write, iodata} -> IO.binwrite(:stdio, [iodata, ?\n])
      :halt -> System.halt(0)
    end

    writer_loop()
  end

  defp dispatch_loop(writer, running, queue, eof) do
    # Each request may use up to the heap limit; bound how many run at once by the cores.
    max_concurrent = min(16, max(4, 2 * :erlang.system_info(:schedulers_online)))
    if eof == :eof and running == 0 and :queue.is_empty(queue), do: send(writer, :halt)

    receive do
      :eof ->
        dispatch_loop(writer, running, queue, :eof)

      {:line, line} when running >= max_concurrent ->
        if cheap?(line) do
          # Health checks must not wait behind a full queue of heavy parses.
          spawn(fn -> run(line, writer, max_heap_words()) end)
          dispatch_loop(writer, running, queue, eof)
        else
          dispatch_loop(writer, running, :queue.in(line, queue), eof)
        end

      {:line, line} ->
        start_runner(line, writer)
        dispatch_loop(writer, running + 1, queue, eof)

      {:DOWN, _ref, :process, _pid, _reason} ->
        case :queue.out(queue) do
          {{:value, line}, queue} ->
            start_runner(line, writer)
            dispatch_loop(writer, running, queue, eof)

          {:empty, queue} ->
            dispatch_loop(writer, running - 1, queue, eof)
        end
    end
  end

  defp cheap?(line) do
    head = binary_part(line, 0, min(byte_size(line), 80))
    :binary.match(head, ["\"op\":\"ping\"", "\"op\":\"stats\""]) != :nomatch
  end

  defp start_runner(line, writer) do
    heap = max_heap_words()
    spawn_monitor(fn -> run(line, writer, heap) end)
  end

  # The runner owns the response: exactly one line per request, whatever happens to the worker.
  defp run(line, writer, heap) do
    runner = self()
    started = System.monotonic_time(:millisecond)
    {pid, ref} = spawn_monitor(fn -> work(line, runner, heap) end)
    id = peek_id(line)
    await(pid, ref, id, started + @default_timeout_ms, writer, heap)
  end

  defp await(pid, ref, id, deadline, writer, heap) do
    wait = max(deadline - System.monotonic_time(:millisecond), 0)

    receive do
      {:request, ^pid, id, timeout_ms} ->
        deadline =
          if is_integer(timeout_ms) and timeout_ms > 0,
            do: deadline - @default_timeout_ms + timeout_ms,
            else: deadline

        await(pid, ref, id, deadline, writer, heap)

      {:response, ^pid, iodata} ->
        Process.demonitor(ref, [:flush])
        send(writer, {:write, iodata})

      {:DOWN, ^ref, :process, ^pid, reason} ->
        {kind, message} =
          case reason do
            :killed ->
              {"too_large",
               "the request needed more than #{div(heap * :erlang.system_info(:wordsize), 1024 * 1024)} MB " <>
                 "of memory and was stopped; the input is too large or too deeply nested"}

            other ->
              {"internal", "the request's process failed: #{inspect(other, limit: 20)}"}
          end

        send(writer, {:write, error_line(id, kind, message)})
    after
      wait ->
        Process.exit(pid, :kill)
        Process.demonitor(ref, [:flush])

        send(
          writer,
          {:write,
           error_line(id, "timeout", "the request ran longer than its time limit and was stopped")}
        )
    end
  end

  # Only for error lines written when the worker died before decoding the request.
  defp peek_id(line) do
    case Regex.run(
           ~r/\A\s*\{\s*"id"\s*:\s*(-?\d+)/,
           binary_part(line, 0, min(byte_size(line), 64))
         ) do
      [_, digits] -> String.to_integer(digits)
      nil -> nil
    end
  end

  defp error_line(id, kind, message) do
    JSON.encode_to_iodata!(%{
      id: id,
      ok: false,
      error: %{kind: kind, message: message},
      atoms: atoms()
    })
  end

  defp work(line, runner, heap) do
    Process.flag(:max_heap_size, %{size: heap, kill: true, error_logger: false})
    # Stray output from ops (IO.inspect in a rule) must not corrupt the protocol on stdout.
    Process.group_leader(self(), Process.whereis(:standard_error))

    response =
      case JSON.decode(line) do
        {:ok, %{"id" => id, "op" => op} = request} when is_binary(op) ->
          send(runner, {:request, self(), id, request["timeout_ms"]})
          handle(id, op, Map.get(request, "args") || %{})

        {:ok, %{"id" => id}} ->
          error(id, "bad_request", "the request needs an \"op\" string")

        {:ok, _} ->
          error(nil, "bad_request", "a request must be an object with \"id\" and \"op\"")

        {:error, message} ->
          error(nil, "bad_request", "the request is not valid JSON: " <> message)
      end

    iodata =
      try do
        JSON.encode_to_iodata!(response)
      rescue
        e ->
          JSON.encode_to_iodata!(
            error(
              response[:id],
              "internal",
              "the op returned a value JSON cannot carry: " <> Exception.message(e)
            )
          )
      end

    send(runner, {:response, self(), IO.iodata_to_binary(iodata)})
  end

  defp handle(id, op, args) when is_map(args) do
    ops = :persistent_term.get({__MODULE__, :ops})
    [count, limit] = atoms()
    # Each new atom costs at least ~4 bytes of source, so this bounds what parsing can add:
    # running out of atoms would kill the whole VM, not just this request.
    worst_case = count + div(byte_size(Map.get(args, "code", "") |> to_binary()), 4)

    cond do
      op not in ["ping", "stats"] and (count > @refuse_at * limit or worst_case >= limit) ->
        error(
          id,
          "recycle",
          "the atom table is #{round(100 * count / limit)}% full (#{count} of #{limit}) " <>
            "and this input could need up to #{worst_case - count} more; restart the helper"
        )

      not Map.has_key?(ops, op) ->
        error(
          id,
          "unknown_op",
          "unknown op #{inspect(op)}; known ops: #{Enum.join(Enum.sort(Map.keys(ops)), ", ")}"
        )

      true ->
        with :ok <- ElixirCoder.Helper.Limits.check(args) do
          call(id, Map.fetch!(ops, op), args)
        else
          {:error, kind, message} -> error(id, kind, message)
        end
    end
  end

  defp handle(id, _op, _args), do: error(id, "bad_request", "args must be an object")

  defp to_binary(value) when is_binary(value), do: value
  defp to_binary(_value), do: ""

  defp call(id, fun, args) do
    case fun.(args) do
      {:ok, result} ->
        %{id: id, ok: true, result: result, atoms: atoms()}

      {:error, kind, message} ->
        error(id, to_string(kind), to_string(message))

      other ->
        error(
          id,
          "internal",
          "the op returned #{inspect(other, limit: 10)}; expected {:ok, _} or {:error, kind, message}"
        )
    end
  rescue
    e -> error(id, "internal", Exception.message(e))
  catch
    kind, reason -> error(id, "internal", "#{kind}: #{inspect(reason, limit: 10)}")
  end

  defp error(id, kind, message),
    do: %{id: id, ok: false, error: %{kind: kind, message: message}, atoms: atoms()}

  # Rules files are optional and written by others: one that fails to load is logged and skipped.
  # Compiling them takes seconds, so the modules are cached as .beam files in the directory named
  # by ELIXIR_CODER_HELPER_RULES_CACHE (the client keys it by the rules' contents).
  defp load_rules(dir) do
    cache = System.get_env("ELIXIR_CODER_HELPER_RULES_CACHE")

    case cache && read_rules_cache(cache) do
      {:ok, file_modules, errors} ->
        Enum.each(errors, &IO.puts(:stderr, "elixir-coder helper: skipping rules file #{&1}"))
        collect_ops(file_modules, errors)

      _ ->
        {loaded, errors} = compile_rules(dir)
        if cache, do: write_rules_cache(cache, loaded, errors)
        collect_ops(Enum.map(loaded, fn {file, mod, _bin} -> {file, mod} end), errors)
    end
  end

  defp compile_rules(dir) do
    dir
    |> Path.join("rules/*.exs")
    |> Path.wildcard()
    |> Enum.sort()
    |> Enum.reduce({[], []}, fn file, {loaded, errors} ->
      case require_file(file) do
        {:ok, modules} ->
          {loaded ++ Enum.map(modules, fn {mod, bin} -> {file, mod, bin} end), errors}

        {:error, message} ->
          {loaded, errors ++ [log_error(file, message)]}
      end
    end)
  end

  defp collect_ops(file_modules, errors) do
    {ops, errors} =
      Enum.reduce(file_modules, {%{}, Enum.reverse(errors)}, fn {file, mod}, {ops, errors} ->
        case module_ops(mod) do
          {:ok, more} -> {Map.merge(ops, more), errors}
          {:error, message} -> {ops, [log_error(file, message) | errors]}
        end
      end)

    {ops, Enum.reverse(errors)}
  end

  defp read_rules_cache(cache) do
    with {:ok, bin} <- File.read(Path.join(cache, "manifest.etf")),
         %{modules: modules, errors: errors} <- :erlang.binary_to_term(bin) do
      :code.add_patha(String.to_charlist(cache))

      if Enum.all?(modules, fn {_file, mod} -> match?({:module, _}, Code.ensure_loaded(mod)) end),
        do: {:ok, modules, errors},
        else: :stale
    else
      _ -> :missing
    end
  rescue
    _ -> :missing
  end

  # Best effort: a cache that cannot be written only costs the next boot its compile time.
  defp write_rules_cache(cache, loaded, errors) do
    tmp = "#{cache}.tmp-#{:os.getpid()}"
    File.rm_rf!(tmp)
    File.mkdir_p!(tmp)
    Enum.each(loaded, fn {_file, mod, bin} -> File.write!(Path.join(tmp, "#{mod}.beam"), bin) end)

    manifest = %{
      modules: Enum.map(loaded, fn {file, mod, _bin} -> {file, mod} end),
      errors: errors
    }

    File.write!(Path.join(tmp, "manifest.etf"), :erlang.term_to_binary(manifest))

    # An existing directory here is unreadable or stale (else we would have loaded it): replace it.
    with {:error, _} <- File.rename(tmp, cache),
         {:ok, _} <- File.rm_rf(cache),
         {:error, _} <- File.rename(tmp, cache) do
      File.rm_rf(tmp)
    end
  rescue
    e ->
      IO.puts(
        :stderr,
        "elixir-coder helper: could not cache compiled rules: #{Exception.message(e)}"
      )
  end

  defp log_error(file, message) do
    text = "#{Path.basename(file)}: #{message}"
    IO.puts(:stderr, "elixir-coder helper: skipping rules file #{text}")
    text
  end

  defp require_file(file) do
    parent = self()

    {pid, ref} =
      spawn_monitor(fn ->
        Process.group_leader(self(), Process.whereis(:standard_error))

        result =
          try do
            {:ok, Code.require_file(file) || []}
          rescue
            e -> {:error, Exception.message(e)}
          catch
            kind, reason -> {:error, "#{kind}: #{inspect(reason, limit: 10)}"}
          end

        send(parent, {:loaded, self(), result})
      end)

    receive do
      {:loaded, ^pid, result} ->
        Process.demonitor(ref, [:flush])
        result

      {:DOWN, ^ref, :process, ^pid, reason} ->
        {:error, "loading crashed: #{inspect(reason, limit: 10)}"}
    after
      30_000 ->
        Process.exit(pid, :kill)
        {:error, "loading took longer than 30 s"}
    end
  end

  defp module_ops(mod) do
    if function_exported?(mod, :__helper_ops__, 0) do
      case mod.__helper_ops__() do
        ops when is_map(ops) ->
          bad = for {name, fun} <- ops, not (is_binary(name) and is_function(fun, 1)), do: name

          if bad == [],
            do: {:ok, ops},
            else:
              {:error,
               "#{inspect(mod)}.__helper_ops__/0 has bad entries #{inspect(bad)} (need \"name\" => fun/1)"}

        other ->
          {:error,
           "#{inspect(mod)}.__helper_ops__/0 returned #{inspect(other, limit: 5)}, not a map"}
      end
    else
      {:ok, %{}}
    end
  rescue
    e -> {:error, "#{inspect(mod)}.__helper_ops__/0 raised: #{Exception.message(e)}"}
  end
end

# The client precompiles this file with `elixirc` (ELIXIR_CODER_HELPER_COMPILE_ONLY=1) into a cache
# so later starts skip compilation and call Server.main/1 directly.
if System.get_env("ELIXIR_CODER_HELPER_COMPILE_ONLY") != "1" do
  ElixirCoder.Helper.Server.main(Path.dirname(__ENV__.file))
end
