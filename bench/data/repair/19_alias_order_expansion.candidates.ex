#### good
defmodule Demo.Checkout do
  @moduledoc "Checkout flow."

  alias Demo.Carts
  alias Demo.Orders
  alias Demo.Payments

  def run(cart), do: cart |> Carts.lock() |> Payments.charge() |> Orders.create()
end
#### adds_finding
defmodule Demo.Checkout do
  @moduledoc "Checkout flow."

  alias Demo.Carts
  alias Demo.Orders
  alias Demo.Payments

  def run(cart), do: cart |> Carts.lock() |> Payments.charge() |> Orders.create() |> IO.inspect()
end
#### changes_heads
defmodule Demo.Checkout do
  @moduledoc "Checkout flow."

  alias Demo.Carts
  alias Demo.Orders
  alias Demo.Payments

  def run(cart, opts), do: cart |> Carts.lock() |> Payments.charge(opts) |> Orders.create()
end
