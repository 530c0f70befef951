# Sobelow SQL.* rules: raw SQL built from variables (usually by string interpolation).

defmodule ElixirCoder.Rules.Sobelow.SQL.Query do
  @moduledoc """
  Mirrors Sobelow SQL.Query: the SQL of `SQL.query/query!/query_many/query_many!` (2nd argument,
  any alias ending in `SQL`) or `Repo.query...` (1st argument, any alias ending in `Repo`) holds a
  variable. Like Sobelow, local calls named `query...` are checked under both shapes.
  """
  alias ElixirCoder.Rules.Sobelow.Support

  @funs [:query, :query!, :query_many, :query_many!]

  @doc "Rule id."
  def id, do: "Sobelow.SQL.Query"

  @doc "Findings for one parsed file (ctx from the engine)."
  def check(ctx) do
    specs =
      for f <- @funs, {idx, mod} <- [{1, :SQL}, {0, :Repo}], do: {idx, f, mod, "SQL injection"}

    Support.standard(ctx, id(), :controller, specs)
  end
end

defmodule ElixirCoder.Rules.Sobelow.SQL.Stream do
  @moduledoc "Mirrors Sobelow SQL.Stream: the SQL (2nd argument) of `SQL.stream` holds a variable."
  alias ElixirCoder.Rules.Sobelow.Support

  @doc "Rule id."
  def id, do: "Sobelow.SQL.Stream"

  @doc "Findings for one parsed file (ctx from the engine)."
  def check(ctx) do
    Support.standard(ctx, id(), :controller, [{1, :stream, {:required, :SQL}, "SQL injection"}])
  end
end
