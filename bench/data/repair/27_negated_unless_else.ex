defmodule Demo.Flags do
  @moduledoc "Feature flags."

  def label(flag) do
    if !flag.enabled do
      "off"
    else
      "on"
    end
  end

  def mode(flag) do
    unless flag.beta do
      :stable
    else
      :beta
    end
  end
end
