defmodule DemoWeb.ProfileView do
  use DemoWeb, :view

  def bio(user), do: raw(user.bio)

  def hello(conn, name), do: html(conn, "<p>Hello #{name}</p>")
end
