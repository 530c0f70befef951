#### good
defmodule Demo.Limits do
  @moduledoc "Upload limits."

  @max_bytes 10_485_760

  def allowed?(size), do: size <= @max_bytes
end
#### changes_heads
defmodule Demo.Limits do
  @moduledoc "Upload limits."

  def allowed?(size, max), do: size <= max
end
