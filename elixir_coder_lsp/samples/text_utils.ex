defmodule Text.Utils do
  @moduledoc "Small helpers for cleaning and summarising text."

  @stop_words ~w(a an and the of to in is it for on with)

  @doc """
  Returns the `n` most frequent words of `text`, ignoring case and stop words.

      iex> Text.Utils.top_words("the cat and the hat and the bat", 2)
      [{"bat", 1}, {"cat", 1}]
  """
  @spec top_words(String.t(), pos_integer()) :: [{String.t(), pos_integer()}]
  def top_words(text, n \\ 10) do
    text
    |> String.downcase()
    |> String.split(~r/[^\p{L}\p{N}']+/u, trim: true)
    |> Enum.reject(&(&1 in @stop_words))
    |> Enum.frequencies()
    |> Enum.sort_by(fn {word, count} -> {-count, word} end)
    |> Enum.take(n)
  end

  @doc "Shortens `text` to at most `max` graphemes, adding an ellipsis when cut."
  def truncate(text, max) when is_binary(text) and max > 1 do
    if String.length(text) <= max do
      text
    else
      String.slice(text, 0, max - 1) <> "…"
    end
  end

  @doc "Turns a title into a URL slug."
  def slugify(title) do
    title
    |> String.normalize(:nfd)
    |> String.replace(~r/[^a-zA-Z0-9\s-]/u, "")
    |> String.downcase()
    |> String.split()
    |> Enum.join("-")
  end

  def word_count(text), do: text |> String.split() |> length()

  def chunk_lines(lines, size) do
    lines
    |> Stream.with_index(1)
    |> Stream.chunk_every(size)
    |> Enum.map(fn chunk -> Enum.map(chunk, fn {line, number} -> "#{number}: #{line}" end) end)
  end
end
