defmodule DemoWeb.EchoController do
  use DemoWeb, :controller

  def echo(conn, %{"msg" => msg}), do: send_resp(conn, 200, msg)

  def export(conn, %{"type" => type, "data" => data}) do
    conn |> put_resp_content_type(type) |> send_resp(200, data)
  end
end
