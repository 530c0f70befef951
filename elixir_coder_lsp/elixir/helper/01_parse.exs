# Part of the Elixir helper (see ../helper.exs for the protocol). Parsing with errors as maps, and the input limits every op with a "code" argument passes first.

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
