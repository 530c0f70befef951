defmodule Demo.Formulas do
  @moduledoc "Evaluates formulas."

  def evaluate(formula) do
    {value, _binding} = Code.eval_string(formula)
    value
  end

  def render(template, assigns), do: EEx.eval_string(template, assigns: assigns)
end
