defmodule Demo.Shipping do
  @moduledoc "Shipping status."

  def label(order) do
    if order.paid do
      if order.shipped do
        if order.delivered do
          :done
        else
          :in_transit
        end
      else
        :packing
      end
    else
      :awaiting_payment
    end
  end
end
