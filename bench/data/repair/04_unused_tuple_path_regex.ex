defmodule Demo.Paths do
  @moduledoc "Path helpers."

  def parts(tuple) do
    Tuple.to_list(tuple)
    tuple
  end

  def under(dir) do
    Path.join(dir, "uploads")
    dir
  end

  def digits(text) do
    Regex.run(~r/\d+/, text)
    text
  end
end
