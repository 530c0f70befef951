#### good
defmodule Demo.Sorting do
  @moduledoc "Sort keys from user input."

  def field(name), do: String.to_existing_atom(name)

  def mode(chars), do: List.to_existing_atom(chars)
end
#### adds_finding
defmodule Demo.Sorting do
  @moduledoc "Sort keys from user input."

  def field(name), do: String.to_existing_atom(name)

  def mode(chars), do: :"#{chars}"
end
#### changes_heads
defmodule Demo.Sorting do
  @moduledoc "Sort keys from user input."

  def field(name), do: String.to_existing_atom(name)
end
