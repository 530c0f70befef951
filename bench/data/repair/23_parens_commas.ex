defmodule Demo.Stock do
  @moduledoc "Stock levels."

  def reorder?(item,threshold) do
    if (item.count < threshold) do
      true
    else
      false
    end
  end
end
