defmodule Demo.Sessions do
  @moduledoc "Session storage."

  def topic(id), do: :"session_#{id}"

  def restore(blob), do: :erlang.binary_to_term(blob)
end
