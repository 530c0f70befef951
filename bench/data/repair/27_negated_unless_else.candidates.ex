#### good
defmodule Demo.Flags do
  @moduledoc "Feature flags."

  def label(flag) do
    if flag.enabled, do: "on", else: "off"
  end

  def mode(flag) do
    if flag.beta, do: :beta, else: :stable
  end
end
#### changes_heads
defmodule Demo.Flags do
  @moduledoc "Feature flags."

  def label(flag) do
    if flag.enabled, do: "on", else: "off"
  end
end
