# Part of the Elixir helper (see ../helper.exs for the protocol). The JSON encoder/decoder the protocol and the rules use.

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
