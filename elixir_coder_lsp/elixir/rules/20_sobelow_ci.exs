# Sobelow CI.* rules: command injection through System and :os.

defmodule ElixirCoder.Rules.Sobelow.CI.System do
  @moduledoc "Mirrors Sobelow CI.System: the command (first argument) of `System.cmd/2,3` or `System.shell/1,2` is not a literal."
  alias ElixirCoder.Rules.Sobelow.Support

  @doc "Rule id."
  def id, do: "Sobelow.CI.System"

  @doc "Findings for one parsed file (ctx from the engine)."
  def check(ctx) do
    message = "Command Injection via `System` function"

    Support.standard(
      ctx,
      id(),
      :controller,
      for(f <- [:cmd, :shell], do: {0, f, [:System], message})
    )
  end
end

defmodule ElixirCoder.Rules.Sobelow.CI.OS do
  @moduledoc "Mirrors Sobelow CI.OS: `:os.cmd/1,2` with a non-literal command."
  alias ElixirCoder.Rules.Sobelow.Support

  @doc "Rule id."
  def id, do: "Sobelow.CI.OS"

  @doc "Findings for one parsed file (ctx from the engine)."
  def check(ctx) do
    Support.standard(ctx, id(), :controller, [
      {0, :cmd, {:erlang, :os}, "Command Injection in `:os.cmd`"}
    ])
  end
end
