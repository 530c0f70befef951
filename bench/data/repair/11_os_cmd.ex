defmodule Demo.Printer do
  @moduledoc "Prints labels."

  def print(path) do
    :os.cmd(String.to_charlist("lp " <> path))
  end
end
