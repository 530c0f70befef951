#### good
defmodule Demo.Invoice do
  @moduledoc "Invoice totals."

  @tax_rate 0.2

  def total(net_amount) do
    gross_amount = net_amount * (1 + @tax_rate)
    Float.round(gross_amount, 2)
  end
end
#### unparseable
defmodule Demo.Invoice do
  @moduledoc "Invoice totals."

  @tax_rate 0.2

  def total(net_amount) do
    gross_amount = net_amount * (1 + @tax_rate
    Float.round(gross_amount, 2)
  end
end
#### changes_heads
defmodule Demo.Invoice do
  @moduledoc "Invoice totals."

  def total(net_amount, tax_rate) do
    Float.round(net_amount * (1 + tax_rate), 2)
  end
end
