#### good
defmodule Demo.Pricing do
  @moduledoc "Prices."

  def discount(_price), do: 0

  def shipping(weight), do: weight * 2
end
#### changes_heads
defmodule Demo.Pricing do
  @moduledoc "Prices."

  def discount, do: 0

  def shipping(weight), do: weight * 2
end
