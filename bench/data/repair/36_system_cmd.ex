defmodule Demo.Export do
  @moduledoc "Runs the export tool."

  def export(tool, file) do
    {out, 0} = System.cmd(tool, ["--csv", file])
    out
  end
end
