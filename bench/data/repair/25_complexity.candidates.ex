#### good
defmodule Demo.Grades do
  @moduledoc "Grades."

  @bands [{90, "A"}, {80, "B"}, {70, "C"}, {60, "D"}, {50, "E"}, {40, "F"}, {30, "G"}, {20, "H"}, {10, "I"}]

  def grade(score) do
    Enum.find_value(@bands, "J", fn {min, letter} -> score >= min && letter end)
  end
end
#### adds_finding
defmodule Demo.Grades do
  @moduledoc "Grades."

  @bands [{90, "A"}, {80, "B"}, {70, "C"}, {60, "D"}, {50, "E"}, {40, "F"}, {30, "G"}, {20, "H"}, {10, "I"}]

  def grade(score) do
    @bands |> Enum.filter(fn {min, _} -> score >= min end) |> Enum.filter(& &1) |> Enum.map(&elem(&1, 1)) |> List.first("J")
  end
end
#### changes_heads
defmodule Demo.Grades do
  @moduledoc "Grades."

  def grade(score, bands) do
    Enum.find_value(bands, "J", fn {min, letter} -> score >= min && letter end)
  end
end
