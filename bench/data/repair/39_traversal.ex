defmodule DemoWeb.FileController do
  use DemoWeb, :controller

  def receipt(conn, %{"file" => file}), do: json(conn, %{body: File.read!("receipts/" <> file)})

  def show(conn, %{"name" => name}), do: send_file(conn, 200, "uploads/" <> name)

  def get(conn, %{"f" => f}), do: send_download(conn, {:file, "exports/" <> f})
end
