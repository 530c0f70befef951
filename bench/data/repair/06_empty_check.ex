defmodule Demo.Queue do
  @moduledoc "A job queue."

  def empty?(jobs), do: length(jobs) == 0

  def size(jobs), do: length(jobs)
end
