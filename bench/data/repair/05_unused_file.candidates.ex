#### good
defmodule Demo.Store do
  @moduledoc "Writes the report file."

  @report "tmp/report.txt"

  def save(body) do
    File.write!(@report, body)
    body
  end
end
#### changes_heads
defmodule Demo.Store do
  @moduledoc "Writes the report file."

  @report "tmp/report.txt"

  def store(body) do
    File.write!(@report, body)
    body
  end
end
#### adds_finding
defmodule Demo.Store do
  @moduledoc "Writes the report file."

  @report "tmp/report.txt"

  def save(body) do
    File.write!(@report, body)
    dbg(body)
  end
end
