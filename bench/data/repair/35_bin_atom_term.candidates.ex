#### good
defmodule Demo.Sessions do
  @moduledoc "Session storage."

  def topic(id), do: "session_#{id}"

  def restore(blob), do: :erlang.binary_to_term(blob, [:safe])
end
#### adds_finding
defmodule Demo.Sessions do
  @moduledoc "Session storage."

  def topic(id), do: String.to_atom("session_#{id}")

  def restore(blob), do: :erlang.binary_to_term(blob, [:safe])
end
#### unparseable
defmodule Demo.Sessions do
  @moduledoc "Session storage."

  def topic(id), do: "session_#{id}

  def restore(blob), do: :erlang.binary_to_term(blob, [:safe])
end
