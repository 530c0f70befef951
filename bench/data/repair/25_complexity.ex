defmodule Demo.Grades do
  @moduledoc "Grades."

  def grade(score) do
    if score >= 90, do: "A"
    if score >= 80, do: "B"
    if score >= 70, do: "C"
    if score >= 60, do: "D"
    if score >= 50, do: "E"
    if score >= 40, do: "F"
    if score >= 30, do: "G"
    if score >= 20, do: "H"
    if score >= 10, do: "I"
    "J"
  end
end
