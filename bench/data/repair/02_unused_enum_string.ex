defmodule Demo.Names do
  @moduledoc "Name normalisation."

  def normalise(names) do
    Enum.map(names, &String.downcase/1)
    names
  end

  def clean(name) do
    String.trim(name)
    name
  end
end
