# Sobelow RCE.* rules: evaluating code or templates built from input.

defmodule ElixirCoder.Rules.Sobelow.RCE.CodeModule do
  @moduledoc "Mirrors Sobelow RCE.CodeModule: `Code.eval_string/eval_file/eval_quoted` on a non-literal value."
  alias ElixirCoder.Rules.Sobelow.Support

  @doc "Rule id."
  def id, do: "Sobelow.RCE.CodeModule"

  @doc "Findings for one parsed file (ctx from the engine)."
  def check(ctx) do
    specs =
      for f <- [:eval_string, :eval_file, :eval_quoted],
          do: {0, f, [:Code], "Code Execution in `Code.#{f}`"}

    Support.standard(ctx, id(), :controller, specs)
  end
end

defmodule ElixirCoder.Rules.Sobelow.RCE.EEx do
  @moduledoc "Mirrors Sobelow RCE.EEx: `EEx.eval_string/eval_file` on a non-literal template."
  alias ElixirCoder.Rules.Sobelow.Support

  @doc "Rule id."
  def id, do: "Sobelow.RCE.EEx"

  @doc "Findings for one parsed file (ctx from the engine)."
  def check(ctx) do
    specs =
      for f <- [:eval_string, :eval_file], do: {0, f, [:EEx], "Code Execution in `EEx.#{f}`"}

    Support.standard(ctx, id(), :controller, specs)
  end
end
