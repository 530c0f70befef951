#### good
defmodule Demo.Shipping do
  @moduledoc "Shipping status."

  def label(%{paid: false}), do: :awaiting_payment
  def label(%{shipped: false}), do: :packing
  def label(%{delivered: false}), do: :in_transit
  def label(_order), do: :done
end
#### changes_heads
defmodule Demo.Shipping do
  @moduledoc "Shipping status."

  def status(%{paid: false}), do: :awaiting_payment
  def status(%{shipped: false}), do: :packing
  def status(%{delivered: false}), do: :in_transit
  def status(_order), do: :done
end
#### unparseable
defmodule Demo.Shipping do
  @moduledoc "Shipping status."

  def label(%{paid: false}), do: :awaiting_payment
  def label(%{shipped: false}), do: :packing
  def label(%{delivered: false}), do: :in_transit
  def label(_order) do: :done
end
