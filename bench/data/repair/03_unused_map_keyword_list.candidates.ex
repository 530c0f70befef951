#### good
defmodule Demo.Settings do
  @moduledoc "User settings."

  def with_theme(settings) do
    Map.put(settings, :theme, "dark")
  end

  def with_timeout(opts) do
    Keyword.put(opts, :timeout, 5_000)
  end

  def flat(groups) do
    List.flatten(groups)
  end
end
#### adds_finding
defmodule Demo.Settings do
  @moduledoc "User settings."

  def with_theme(settings) do
    Map.put(settings, :theme, "dark")
  end

  def with_timeout(opts) do
    Keyword.put(opts, :timeout, 5000000)
  end

  def flat(groups) do
    List.flatten(groups)
  end
end
#### changes_heads
defmodule Demo.Settings do
  @moduledoc "User settings."

  def with_theme(settings) do
    Map.put(settings, :theme, "dark")
  end

  def with_timeout(opts) do
    Keyword.put(opts, :timeout, 5_000)
  end

  def flatten(groups) do
    List.flatten(groups)
  end
end
