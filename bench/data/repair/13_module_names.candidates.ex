#### good
defmodule Demo.OrderExport do
  @moduledoc "Exports orders."

  def rows(orders), do: Enum.map(orders, &Map.take(&1, [:id, :total]))
end
#### adds_finding
defmodule Demo.OrderExport do
  def rows(orders), do: Enum.map(orders, &Map.take(&1, [:id, :total]))
end
#### changes_heads
defmodule Demo.OrderExport do
  @moduledoc "Exports orders."

  def rows(orders, fields), do: Enum.map(orders, &Map.take(&1, fields))
end
