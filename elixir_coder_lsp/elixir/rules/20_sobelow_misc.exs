# Sobelow Misc.BinToTerm: deserialising untrusted binaries.

defmodule ElixirCoder.Rules.Sobelow.Misc.BinToTerm do
  @moduledoc """
  Mirrors Sobelow Misc.BinToTerm: `:erlang.binary_to_term/1,2` on a non-literal value, always high.

  One deliberate difference: a call whose options are a literal list containing `:safe` is not
  reported (Sobelow reports it), so that the autofix `binary_to_term(x)` -> `binary_to_term(x,
  [:safe])` clears the finding. `[:safe]` stops new atoms and old references, not functions; the
  rule's doc recommends `Plug.Crypto.non_executable_binary_to_term/2` for untrusted input.
  """
  alias ElixirCoder.Rules.Sobelow.Support

  @doc "Rule id."
  def id, do: "Sobelow.Misc.BinToTerm"

  @doc "Findings for one parsed file (ctx from the engine)."
  def check(ctx) do
    spec = [{0, :binary_to_term, {:erlang, :erlang}, "Unsafe `binary_to_term`"}]

    Support.standard(ctx, id(), :high, spec, fn call, f, d ->
      if safe_option?(call), do: nil, else: add_fix(call, f, d)
    end)
  end

  defp safe_option?({_, _, args}) when is_list(args),
    do: Enum.any?(args, &(is_list(&1) and :safe in &1))

  defp safe_option?(_), do: false

  defp add_fix({_, meta, args} = call, f, d) do
    closing = meta[:closing]
    piped? = Support.piped?(d, call)

    text =
      cond do
        closing == nil or meta[:capture] -> nil
        piped? and args == [] -> "[:safe]"
        not piped? and length(args) == 1 -> ", [:safe]"
        true -> nil
      end

    if text do
      edit = %{
        line: closing[:line],
        column: closing[:column],
        end_line: closing[:line],
        end_column: closing[:column],
        text: text
      }

      Support.with_fix(f, "Pass the [:safe] option", [edit])
    else
      f
    end
  end
end
