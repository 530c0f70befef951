defmodule Demo.Cart do
  @moduledoc "Shopping cart totals."

  def total(items) do
    IO.inspect(items)
    sum = Enum.reduce(items, 0, fn item, acc -> acc + item.price end)
    dbg(sum)
  end

  def checkout(cart) do
    require IEx
    IEx.pry()
    {:ok, cart}
  end
end
