#### good
defmodule Demo.Clock do
  @moduledoc "Time helpers."

  def now, do: DateTime.utc_now()

  def today, do: Date.utc_today()
end
#### changes_heads
defmodule Demo.Clock do
  @moduledoc "Time helpers."

  def now(tz), do: DateTime.now!(tz)

  def today, do: Date.utc_today()
end
