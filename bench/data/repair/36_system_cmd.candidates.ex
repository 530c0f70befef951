#### good
defmodule Demo.Export do
  @moduledoc "Runs the export tool."

  def export("csv", file) do
    {out, 0} = System.cmd("csvtool", ["--csv", file])
    out
  end

  def export("json", file) do
    {out, 0} = System.cmd("jq", [".", file])
    out
  end
end
#### changes_heads
defmodule Demo.Export do
  @moduledoc "Runs the export tool."

  def export(file) do
    {out, 0} = System.cmd("csvtool", ["--csv", file])
    out
  end
end
#### adds_finding
defmodule Demo.Export do
  @moduledoc "Runs the export tool."

  def export(tool, file) do
    :os.cmd(String.to_charlist(tool <> " --csv " <> file))
  end
end
