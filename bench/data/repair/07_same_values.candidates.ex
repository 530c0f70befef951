#### good
defmodule Demo.Compare do
  @moduledoc "Comparisons."

  def changed?(old, new), do: old != new or new == nil

  def both(flag), do: flag
end
#### adds_finding
defmodule Demo.Compare do
  @moduledoc "Comparisons."

  def changed?(old, new), do: old != new or new == nil

  def both(flag), do: flag * 0
end
#### unparseable
defmodule Demo.Compare do
  @moduledoc "Comparisons."

  def changed?(old, new), do: (old != new or new == nil

  def both(flag), do: flag
end
