defmodule Demo.Limits do
  @moduledoc "Upload limits."

  @max_bytes 10485760 

  def allowed?(size), do: size <= @max_bytes
end
