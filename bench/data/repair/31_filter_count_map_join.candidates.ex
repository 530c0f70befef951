#### good
defmodule Demo.Tags do
  @moduledoc "Tag helpers."

  def active_count(tags), do: Enum.count(tags, & &1.active)

  def names(tags), do: Enum.map_join(tags, ", ", & &1.name)
end
#### adds_finding
defmodule Demo.Tags do
  @moduledoc "Tag helpers."

  def active_count(tags), do: Enum.count(tags, & &1.active)

  def names(tags), do: Enum.map_join(tags, ", ", & &1.name) |> dbg()
end
#### changes_heads
defmodule Demo.Tags do
  @moduledoc "Tag helpers."

  def active_count(tags), do: Enum.count(tags, & &1.active)

  def names(tags, sep), do: Enum.map_join(tags, sep, & &1.name)
end
