defmodule Demo.Tags do
  @moduledoc "Tag helpers."

  def active_count(tags), do: tags |> Enum.filter(& &1.active) |> Enum.count()

  def names(tags), do: Enum.map(tags, & &1.name) |> Enum.join(", ")
end
