defmodule Demo.Clock do
  @moduledoc "Time helpers."

  def now(), do: DateTime.utc_now()



  def today(), do: Date.utc_today()
end