defmodule Demo.Import do
  @moduledoc "CSV import."

  def run(path) do
    with {:ok, body} <- read(path),
         rows = String.split(body, "\n") do
      {:ok, rows}
    end
  end

  defp read(path), do: {:ok, path}
end
