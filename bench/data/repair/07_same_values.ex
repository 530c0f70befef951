defmodule Demo.Compare do
  @moduledoc "Comparisons."

  def changed?(old, new), do: old != old or new == nil

  def both(flag), do: flag && flag
end
