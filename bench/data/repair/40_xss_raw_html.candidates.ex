#### good
defmodule DemoWeb.ProfileView do
  use DemoWeb, :view

  def bio(user), do: user.bio

  def hello(conn, name), do: render(conn, "hello.html", name: name)
end
#### adds_finding
defmodule DemoWeb.ProfileView do
  use DemoWeb, :view

  def bio(user), do: user.bio

  def hello(conn, name), do: send_resp(conn, 200, "<p>Hello #{name}</p>")
end
#### unparseable
defmodule DemoWeb.ProfileView do
  use DemoWeb, :view

  def bio(user), do: user.bio

  def hello(conn, name), do: render(conn, "hello.html", name: name
end
