#### good
defmodule Demo.Import do
  @moduledoc "CSV import."

  def run(path) do
    case read(path) do
      {:ok, body} -> {:ok, String.split(body, "\n")}
      error -> error
    end
  end

  defp read(path), do: {:ok, path}
end
#### adds_finding
defmodule Demo.Import do
  @moduledoc "CSV import."

  def run(path) do
    case read(path) do
      {:ok, body} -> {:ok, String.split(body, "\n")}
      error -> error
    end
  end

  defp read(path), do: {:ok, File.read!(path)}
end
#### changes_heads
defmodule Demo.Import do
  @moduledoc "CSV import."

  def run(body) when is_binary(body), do: {:ok, String.split(body, "\n")}
  def run(path, _opts), do: {:ok, path}
end
