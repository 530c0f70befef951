#### good
defmodule Demo.Greeter do
  @moduledoc "Greets people by name."

  def greet(name), do: "Hello, " <> name
end
#### changes_heads
defmodule Demo.Greeter do
  @moduledoc "Greets people by name."

  def greet(greeting, name), do: greeting <> ", " <> name
end
#### unparseable
defmodule Demo.Greeter do
  @moduledoc "Greets people by name.

  def greet(name), do: "Hello, " <> name
end
