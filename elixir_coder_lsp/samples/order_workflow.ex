defmodule Shop.OrderWorkflow do
  @moduledoc """
  Places an order: checks stock, charges the customer and records the shipment.
  Every step returns `{:ok, value}` or `{:error, reason}`.
  """

  alias Shop.{Inventory, Payments, Shipping, Repo}

  @type error :: {:error, :out_of_stock | :payment_declined | :invalid_address | term()}

  @spec place_order(map(), map()) :: {:ok, map()} | error()
  def place_order(customer, cart) do
    with {:ok, items} <- validate_cart(cart),
         :ok <- Inventory.reserve(items),
         {:ok, total} <- compute_total(items, customer),
         {:ok, charge} <- Payments.charge(customer.payment_method, total),
         {:ok, shipment} <- Shipping.schedule(customer.address, items) do
      Repo.insert_order(%{customer_id: customer.id, items: items, charge: charge, shipment: shipment})
    else
      {:error, :declined} ->
        Inventory.release(cart.items)
        {:error, :payment_declined}

      {:error, reason} = error ->
        require Logger
        Logger.info("order failed: #{inspect(reason)}")
        error
    end
  end

  defp validate_cart(%{items: []}), do: {:error, :empty_cart}

  defp validate_cart(%{items: items}) do
    if Enum.all?(items, &(&1.quantity > 0)) do
      {:ok, items}
    else
      {:error, :invalid_quantity}
    end
  end

  defp compute_total(items, customer) do
    subtotal =
      items
      |> Enum.map(fn %{price: price, quantity: qty} -> Decimal.mult(price, qty) end)
      |> Enum.reduce(Decimal.new(0), &Decimal.add/2)

    discount = if customer.vip?, do: Decimal.new("0.10"), else: Decimal.new(0)
    {:ok, Decimal.sub(subtotal, Decimal.mult(subtotal, discount))}
  end
end
