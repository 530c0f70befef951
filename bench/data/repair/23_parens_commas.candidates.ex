#### good
defmodule Demo.Stock do
  @moduledoc "Stock levels."

  def reorder?(item, threshold) do
    item.count < threshold
  end
end
#### adds_finding
defmodule Demo.Stock do
  @moduledoc "Stock levels."

  def reorder?(item, threshold) do
    item.count < threshold && item.count < threshold
  end
end
#### changes_heads
defmodule Demo.Stock do
  @moduledoc "Stock levels."

  def reorder?(item) do
    item.count < 10
  end
end
