#### good
defmodule Demo.Loader do
  @moduledoc "Loads records."

  def load(id) do
    {:ok, fetch!(id)}
  rescue
    error -> {:error, {id, error}}
  end

  defp fetch!(id), do: %{id: id}
end
#### adds_finding
defmodule Demo.Loader do
  @moduledoc "Loads records."

  def load(id) do
    {:ok, fetch!(id)}
  rescue
    error -> {:error, IO.inspect(error)}
  end

  defp fetch!(id), do: %{id: id}
end
#### changes_heads
defmodule Demo.Loader do
  @moduledoc "Loads records."

  def load(id) do
    {:ok, %{id: id}}
  end
end
