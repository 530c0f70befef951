defmodule Demo.Lookup do
  @moduledoc "Lookups."

  def name(result) do
    if {:ok, user} = result do
      user.name
    end
  end
end
