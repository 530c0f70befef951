#### good
defmodule Demo.Printer do
  @moduledoc "Prints labels."

  def print(path) do
    {output, _status} = System.cmd("lp", [path])
    output
  end
end
#### adds_finding
defmodule Demo.Printer do
  @moduledoc "Prints labels."

  def print(path) do
    {output, _status} = System.cmd(path, [])
    output
  end
end
#### unparseable
defmodule Demo.Printer do
  @moduledoc "Prints labels."

  def print(path) do
    {output, _status} = System.cmd("lp", [path]
    output
  end
end
