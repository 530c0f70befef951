defmodule Demo.Store do
  @moduledoc "Writes the report file."

  @report "tmp/report.txt"

  def save(body) do
    File.write!(@report, body)
    File.exists?(@report)
    body
  end
end
