#### good
defmodule Demo.Formulas do
  @moduledoc "Evaluates formulas."

  def evaluate(formula) do
    formula |> String.split("+") |> Enum.map(&String.trim/1) |> Enum.map(&String.to_integer/1) |> Enum.sum()
  end

  def render(template, assigns) do
    Enum.reduce(assigns, template, fn {key, value}, acc -> String.replace(acc, "{{#{key}}}", to_string(value)) end)
  end
end
#### adds_finding
defmodule Demo.Formulas do
  @moduledoc "Evaluates formulas."

  def evaluate(formula) do
    {value, _binding} = Code.eval_quoted(Code.string_to_quoted!(formula))
    value
  end

  def render(template, assigns) do
    Enum.reduce(assigns, template, fn {key, value}, acc -> String.replace(acc, "{{#{key}}}", to_string(value)) end)
  end
end
#### changes_heads
defmodule Demo.Formulas do
  @moduledoc "Evaluates formulas."

  def evaluate(a, b), do: a + b

  def render(template, _assigns), do: template
end
