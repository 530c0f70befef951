defmodule Demo.Sorting do
  @moduledoc "Sort keys from user input."

  def field(name), do: String.to_atom(name)

  def mode(chars), do: List.to_atom(chars)
end
