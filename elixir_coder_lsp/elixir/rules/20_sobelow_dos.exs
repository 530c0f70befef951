# Sobelow DOS.* rules: atoms are never garbage-collected, so atoms built from input exhaust memory.

defmodule ElixirCoder.Rules.Sobelow.DOS.StringToAtom do
  @moduledoc "Mirrors Sobelow DOS.StringToAtom: `String.to_atom/1` on a non-literal value."
  alias ElixirCoder.Rules.Sobelow.Support

  @doc "Rule id."
  def id, do: "Sobelow.DOS.StringToAtom"

  @doc "Findings for one parsed file (ctx from the engine)."
  def check(ctx) do
    Support.standard(
      ctx,
      id(),
      :controller,
      [{0, :to_atom, [:String], "Unsafe `String.to_atom`"}],
      fn call, f, _ ->
        Support.with_fix(f, "Use String.to_existing_atom", [
          Support.rename_edit(call, "to_existing_atom")
        ])
      end
    )
  end
end

defmodule ElixirCoder.Rules.Sobelow.DOS.ListToAtom do
  @moduledoc "Mirrors Sobelow DOS.ListToAtom: `List.to_atom/1` on a non-literal value."
  alias ElixirCoder.Rules.Sobelow.Support

  @doc "Rule id."
  def id, do: "Sobelow.DOS.ListToAtom"

  @doc "Findings for one parsed file (ctx from the engine)."
  def check(ctx) do
    Support.standard(
      ctx,
      id(),
      :controller,
      [{0, :to_atom, [:List], "Unsafe `List.to_atom`"}],
      fn call, f, _ ->
        Support.with_fix(f, "Use List.to_existing_atom", [
          Support.rename_edit(call, "to_existing_atom")
        ])
      end
    )
  end
end

defmodule ElixirCoder.Rules.Sobelow.DOS.BinToAtom do
  @moduledoc "Mirrors Sobelow DOS.BinToAtom: `:erlang.binary_to_atom` and atom interpolation `:\"a\#{b}\"`."
  alias ElixirCoder.Rules.Sobelow.Support

  @doc "Rule id."
  def id, do: "Sobelow.DOS.BinToAtom"

  @doc "Findings for one parsed file (ctx from the engine)."
  def check(ctx) do
    spec = [{0, :binary_to_atom, {:erlang, :erlang}, "Unsafe atom interpolation"}]
    Support.standard(ctx, id(), :controller, spec, fn call, f, _ -> add_fix(ctx, call, f) end)
  end

  # `:"a#{b}"` becomes `String.to_existing_atom("a#{b}")`; an explicit call is renamed.
  defp add_fix(ctx, {_, meta, _} = call, f) do
    cond do
      meta[:capture] ->
        Support.with_fix(f, "Use binary_to_existing_atom", [
          Support.rename_edit(call, "binary_to_existing_atom")
        ])

      meta[:delimiter] == "\"" and f.line == f.end_line ->
        quoted =
          Support.text_at(
            Support.ctx_lines(ctx),
            f.line,
            f.column + 1,
            f.end_column - f.column - 1
          )

        edit = %{
          line: f.line,
          column: f.column,
          end_line: f.end_line,
          end_column: f.end_column,
          text: "String.to_existing_atom(" <> quoted <> ")"
        }

        Support.with_fix(f, "Use String.to_existing_atom", [edit])

      meta[:delimiter] != nil ->
        f

      true ->
        Support.with_fix(f, "Use binary_to_existing_atom", [
          Support.rename_edit(call, "binary_to_existing_atom")
        ])
    end
  end
end
