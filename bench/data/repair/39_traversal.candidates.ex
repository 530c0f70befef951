#### good
defmodule DemoWeb.FileController do
  use DemoWeb, :controller

  def receipt(conn, %{"file" => "latest"}), do: json(conn, %{body: File.read!("receipts/latest.pdf")})

  def show(conn, %{"name" => "logo"}), do: send_file(conn, 200, "uploads/logo.png")

  def get(conn, %{"f" => "daily"}), do: send_download(conn, {:file, "exports/daily.csv"})
end
#### good
defmodule DemoWeb.FileController do
  use DemoWeb, :controller

  # Names are confined to their folders by Path.safe_relative/2 before any file access.
  # sobelow_skip ["Traversal.FileModule"]
  def receipt(conn, %{"file" => file}) do
    {:ok, rel} = Path.safe_relative(file)
    json(conn, %{body: File.read!(Path.join("receipts", rel))})
  end

  # sobelow_skip ["Traversal.SendFile"]
  def show(conn, %{"name" => name}) do
    {:ok, rel} = Path.safe_relative(name)
    send_file(conn, 200, Path.join("uploads", rel))
  end

  # sobelow_skip ["Traversal.SendDownload"]
  def get(conn, %{"f" => f}) do
    {:ok, rel} = Path.safe_relative(f)
    send_download(conn, {:file, Path.join("exports", rel)})
  end
end
#### changes_heads
defmodule DemoWeb.FileController do
  use DemoWeb, :controller

  def receipt(conn, _params), do: json(conn, %{body: File.read!("receipts/latest.pdf")})
end
