#### good
defmodule Demo.Lookup do
  @moduledoc "Lookups."

  def name(result) do
    case result do
      {:ok, user} -> user.name
      _ -> nil
    end
  end
end
#### changes_heads
defmodule Demo.Lookup do
  @moduledoc "Lookups."

  def user_name({:ok, user}), do: user.name
  def user_name(_other), do: nil
end
#### adds_finding
defmodule Demo.Lookup do
  @moduledoc "Lookups."

  def name(result) do
    case result do
      {:ok, user} -> IO.inspect(user.name)
      _ -> nil
    end
  end
end
