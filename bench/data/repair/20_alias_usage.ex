defmodule Demo.Billing do
  @moduledoc "Billing."

  def charge(invoice), do: Demo.Payments.Gateway.charge(invoice.total)
end
