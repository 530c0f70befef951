#### good
defmodule Demo.Names do
  @moduledoc "Name normalisation."

  def normalise(names) do
    Enum.map(names, &String.downcase/1)
  end

  def clean(name) do
    String.trim(name)
  end
end
#### unparseable
defmodule Demo.Names do
  @moduledoc "Name normalisation."

  def normalise(names) do
    Enum.map(names, &String.downcase/1)
  end

  def clean(name) do
    String.trim(name
  end
end
#### changes_heads
defmodule Demo.Names do
  @moduledoc "Name normalisation."

  def normalise(names, fun) do
    Enum.map(names, fun)
  end

  def clean(name) do
    String.trim(name)
  end
end
