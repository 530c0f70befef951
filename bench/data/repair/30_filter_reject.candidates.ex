#### good
defmodule Demo.Catalog do
  @moduledoc "Catalogue queries."

  def visible(products), do: Enum.filter(products, &(&1.active and &1.in_stock))

  def cheap(products), do: Enum.reject(products, &(&1.hidden or &1.price > 10))
end
#### unparseable
defmodule Demo.Catalog do
  @moduledoc "Catalogue queries."

  def visible(products), do: Enum.filter(products, &(&1.active and &1.in_stock)

  def cheap(products), do: Enum.reject(products, &(&1.hidden or &1.price > 10))
end
#### changes_heads
defmodule Demo.Catalog do
  @moduledoc "Catalogue queries."

  def visible(products), do: Enum.filter(products, &(&1.active and &1.in_stock))

  def cheap(products, max), do: Enum.reject(products, &(&1.hidden or &1.price > max))
end
