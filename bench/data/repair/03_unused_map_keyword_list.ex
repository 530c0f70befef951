defmodule Demo.Settings do
  @moduledoc "User settings."

  def with_theme(settings) do
    Map.put(settings, :theme, "dark")
    settings
  end

  def with_timeout(opts) do
    Keyword.put(opts, :timeout, 5_000)
    opts
  end

  def flat(groups) do
    List.flatten(groups)
    groups
  end
end
