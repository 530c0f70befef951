#### good
defmodule Demo.Queue do
  @moduledoc "A job queue."

  def empty?(jobs), do: jobs == []

  def size(jobs), do: length(jobs)
end
#### good
defmodule Demo.Queue do
  @moduledoc "A job queue."

  def empty?(jobs), do: Enum.empty?(jobs)

  def size(jobs), do: length(jobs)
end
#### changes_heads
defmodule Demo.Queue do
  @moduledoc "A job queue."

  def blank?(jobs), do: jobs == []

  def size(jobs), do: length(jobs)
end
