# Part of the Elixir helper (see ../helper.exs for the protocol). The built-in ops.

defmodule ElixirCoder.Helper.Ops do
  @moduledoc "Built-in ops."

  alias ElixirCoder.Helper.{Parse, Summary}

  @doc "The built-in op table; test ops `sleep` and `echo` only when ELIXIR_CODER_HELPER_TEST=1."
  @spec builtin() :: %{String.t() => (map() -> term())}
  def builtin do
    ops = %{
      "ping" => &ping/1,
      "stats" => &stats/1,
      "parse" => &parse/1,
      "summary" => &summary/1,
      "format" => &format/1
    }

    if System.get_env("ELIXIR_CODER_HELPER_TEST") == "1",
      do: Map.merge(ops, %{"sleep" => &sleep/1, "echo" => &{:ok, &1}}),
      else: ops
  end

  defp ping(_args), do: {:ok, "pong"}

  defp stats(_args) do
    {:ok,
     %{
       atom_count: :erlang.system_info(:atom_count),
       atom_limit: :erlang.system_info(:atom_limit),
       memory: :erlang.memory(:total),
       process_count: :erlang.system_info(:process_count),
       os_pid: String.to_integer(List.to_string(:os.getpid())),
       ops: ElixirCoder.Helper.Server.op_names(),
       rule_errors: ElixirCoder.Helper.Server.rule_errors()
     }}
  end

  defp parse(%{"code" => code}) when is_binary(code) do
    case Parse.string_to_quoted(code) do
      {:ok, _ast} -> {:ok, %{ok: true}}
      {:error, error} -> {:ok, Map.put(error, :ok, false)}
    end
  end

  defp parse(_), do: {:error, "invalid_input", "parse needs args.code (a string)"}

  defp summary(%{"code" => code}) when is_binary(code) do
    case Summary.summarize(code) do
      {:ok, summary} -> {:ok, summary}
      {:error, error} -> {:error, "syntax_error", describe(error)}
    end
  end

  defp summary(_), do: {:error, "invalid_input", "summary needs args.code (a string)"}

  defp format(%{"code" => code} = args) when is_binary(code) do
    line_length =
      case args["line_length"] do
        n when is_integer(n) and n > 0 -> n
        _ -> 98
      end

    formatted = code |> Code.format_string!(line_length: line_length) |> IO.iodata_to_binary()
    {:ok, if(formatted == "", do: "", else: formatted <> "\n")}
  rescue
    e -> {:error, "syntax_error", describe(Parse.exception_map(e))}
  end

  defp format(_), do: {:error, "invalid_input", "format needs args.code (a string)"}

  defp sleep(args) do
    Process.sleep(args["ms"] || 1000)
    {:ok, "slept"}
  end

  defp describe(%{line: line, column: column, message: message}),
    do: "line #{line}, column #{column}: #{message}"
end
