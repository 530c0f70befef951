defmodule Demo.Checkout do
  @moduledoc "Checkout flow."

  alias Demo.Payments
  alias Demo.Carts
  alias Demo.{Orders}

  def run(cart), do: cart |> Carts.lock() |> Payments.charge() |> Orders.create()
end
