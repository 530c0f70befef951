defmodule Demo.Catalog do
  @moduledoc "Catalogue queries."

  def visible(products), do: Enum.filter(Enum.filter(products, & &1.active), & &1.in_stock)

  def cheap(products), do: products |> Enum.reject(& &1.hidden) |> Enum.reject(&(&1.price > 10))
end
