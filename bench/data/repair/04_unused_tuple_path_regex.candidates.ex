#### good
defmodule Demo.Paths do
  @moduledoc "Path helpers."

  def parts(tuple) do
    Tuple.to_list(tuple)
  end

  def under(dir) do
    Path.join(dir, "uploads")
  end

  def digits(text) do
    Regex.run(~r/\d+/, text)
  end
end
#### unparseable
defmodule Demo.Paths do
  @moduledoc "Path helpers."

  def parts(tuple) do
    Tuple.to_list(tuple)
  end

  def under(dir) do
    Path.join(dir, "uploads")
  end

  def digits(text) do
    Regex.run(~r/\d+/, text)
end
#### adds_finding
defmodule Demo.Paths do
  @moduledoc "Path helpers."

  def parts(tuple) do
    Tuple.to_list(tuple)
  end

  def under(dir) do
    Path.join(dir, "uploads")
  end

  def digits(text) do
    if (text), do: Regex.run(~r/\d+/, text)
  end
end
