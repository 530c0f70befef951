defmodule Demo.Order_Export do
  @moduledoc "Exports orders."

  def rows(orders), do: Enum.map(orders, &Map.take(&1, [:id, :total]))
end
