defmodule Demo.Greeter do
  def greet(name), do: "Hello, " <> name
end
