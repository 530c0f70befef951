#### good
defmodule Demo.Billing do
  @moduledoc "Billing."

  alias Demo.Payments.Gateway

  def charge(invoice), do: Gateway.charge(invoice.total)
end
#### changes_heads
defmodule Demo.Billing do
  @moduledoc "Billing."

  alias Demo.Payments.Gateway

  def charge(total, _currency), do: Gateway.charge(total)
end
#### unparseable
defmodule Demo.Billing do
  @moduledoc "Billing."

  alias Demo.Payments.Gateway

  def charge(invoice), do: Gateway.charge(invoice.total
end
