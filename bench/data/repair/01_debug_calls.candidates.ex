#### good
defmodule Demo.Cart do
  @moduledoc "Shopping cart totals."

  def total(items) do
    Enum.reduce(items, 0, fn item, acc -> acc + item.price end)
  end

  def checkout(cart) do
    {:ok, cart}
  end
end
#### adds_finding
defmodule Demo.Cart do
  @moduledoc "Shopping cart totals."

  def total(items) do
    Enum.reduce(items, 0, fn item, acc -> acc + item.price end)
  end

  def checkout(cart) do
    IO.inspect(cart, label: "checkout")
    Map.put(cart, :checked_out, true)
    {:ok, cart}
  end
end
#### changes_heads
defmodule Demo.Cart do
  @moduledoc "Shopping cart totals."

  def sum(items) do
    Enum.reduce(items, 0, fn item, acc -> acc + item.price end)
  end

  def checkout(cart) do
    {:ok, cart}
  end
end
