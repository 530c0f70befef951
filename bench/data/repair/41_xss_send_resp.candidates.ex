#### good
defmodule DemoWeb.EchoController do
  use DemoWeb, :controller

  def echo(conn, %{"msg" => msg}) do
    conn |> put_resp_content_type("text/plain") |> send_resp(200, msg)
  end

  def export(conn, %{"data" => data}) do
    conn |> put_resp_content_type("text/csv") |> send_resp(200, data)
  end
end
#### changes_heads
defmodule DemoWeb.EchoController do
  use DemoWeb, :controller

  def echo(conn, %{"msg" => msg}) do
    conn |> put_resp_content_type("text/plain") |> send_resp(200, msg)
  end
end
#### adds_finding
defmodule DemoWeb.EchoController do
  use DemoWeb, :controller

  def echo(conn, %{"msg" => msg}), do: html(conn, "<pre>#{msg}</pre>")

  def export(conn, %{"data" => data}) do
    conn |> put_resp_content_type("text/csv") |> send_resp(200, data)
  end
end
