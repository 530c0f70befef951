defmodule Demo.Loader do
  @moduledoc "Loads records."

  def load(id) do
    try do
      fetch!(id)
    rescue
      _ -> raise "could not load #{id}"
    end
  end

  defp fetch!(id), do: %{id: id}
end
