defmodule Demo.Invoice do
  @moduledoc "Invoice totals."

  @taxRate 0.2

  def total(netAmount) do
    grossAmount = netAmount * (1 + @taxRate)
    Float.round(grossAmount, 2)
  end
end
