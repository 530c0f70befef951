# Persistent Credo runner, started inside a trusted project as
#   mix run --no-start --no-compile credo_runner.exs
# Protocol (one line each way, so Credo's own printing can never be mistaken for a reply):
#   request:  CHECK <id> <base64 filename> <base64 source>
#   reply:    ELIXIR_CODER_CREDO_RESULT {"id": <id>, "issues": [...]} | {"id": <id>, "error": "..."}
# Issues have the shape of Credo's `--format json` output. EOF on stdin stops the runner.
# No dependency beyond Credo itself: the JSON writer below is ours.

defmodule ElixirCoder.CredoRunner do
  @moduledoc false

  @result "ELIXIR_CODER_CREDO_RESULT "

  def main do
    case Application.ensure_all_started(:credo) do
      {:ok, _} ->
        :ok

      {:error, reason} ->
        # Keep going when the module is loadable anyway; a broken Credo then fails per request.
        unless Code.ensure_loaded?(Credo) do
          IO.puts(:stderr, "Credo is not available in this project: #{inspect(reason)}")
          System.halt(3)
        end
    end

    vsn = Application.spec(:credo, :vsn) || "unknown"
    IO.puts("ELIXIR_CODER_CREDO_READY #{vsn}")
    loop()
  end

  defp loop do
    case IO.gets(:stdio, "") do
      :eof ->
        :ok

      {:error, _} ->
        :ok

      line ->
        line |> IO.chardata_to_string() |> String.trim() |> handle()
        loop()
    end
  end

  defp handle(""), do: :ok

  defp handle(line) do
    {id, reply} =
      case String.split(line, " ") do
        ["CHECK", id, name64, code64] ->
          with {:ok, filename} <- Base.decode64(name64),
               {:ok, code} <- Base.decode64(code64) do
            {id, run_credo(filename, code)}
          else
            :error -> {id, {:error, "request is not valid base64"}}
          end

        [_ | _] = parts ->
          {Enum.at(parts, 1, "0"), {:error, "unknown request"}}
      end

    body =
      case reply do
        {:ok, issues} -> %{"id" => to_int(id), "issues" => issues}
        {:error, message} -> %{"id" => to_int(id), "error" => message}
      end

    IO.puts(@result <> IO.iodata_to_binary(json(body)))
  end

  defp to_int(id) do
    case Integer.parse(id) do
      {n, ""} -> n
      _ -> id
    end
  end

  # Credo reads the source with IO.read(:stdio, :line) until EOF. :stdio is the group leader, so
  # the run happens in a process whose group leader is a StringIO holding the buffer; our own
  # stdin stays the request channel.
  defp run_credo(filename, code) do
    {:ok, device} = StringIO.open(code)
    parent = self()

    {pid, mref} =
      spawn_monitor(fn ->
        Process.group_leader(self(), device)
        send(parent, {:credo_result, self(), run_in_worker(filename)})
      end)

    result =
      receive do
        {:credo_result, ^pid, result} ->
          Process.demonitor(mref, [:flush])
          result

        {:DOWN, ^mref, :process, ^pid, reason} ->
          {:error, "Credo crashed: " <> short(inspect(reason))}
      end

    StringIO.close(device)
    result
  end

  defp run_in_worker(filename) do
    argv = ["--read-from-stdin", "--strict", "--format", "json", filename]
    exec = quietly(fn -> Credo.run(argv) end)
    {:ok, exec |> Credo.Execution.get_issues() |> Enum.map(&issue/1)}
  rescue
    e -> {:error, short(Exception.message(e))}
  catch
    kind, reason -> {:error, short("#{kind}: #{inspect(reason)}")}
  end

  # Credo prints its report through a shell server; mute it when this Credo version allows.
  defp quietly(fun) do
    shell = Credo.CLI.Output.Shell

    if Code.ensure_loaded?(shell) and function_exported?(shell, :supress_output, 1) do
      key = {__MODULE__, :result}
      shell.supress_output(fn -> Process.put(key, fun.()) end)
      Process.delete(key)
    else
      fun.()
    end
  end

  defp issue(issue) do
    trigger = trigger(Map.get(issue, :trigger))
    column = Map.get(issue, :column)

    column_end =
      if is_integer(column) and is_binary(trigger), do: column + String.length(trigger), else: nil

    %{
      "check" => issue |> Map.get(:check) |> to_string() |> String.replace_prefix("Elixir.", ""),
      "category" => to_string(Map.get(issue, :category)),
      "filename" => to_string(Map.get(issue, :filename)),
      "line_no" => Map.get(issue, :line_no),
      "column" => column,
      "column_end" => column_end,
      "trigger" => trigger,
      "message" => Map.get(issue, :message),
      "priority" => Map.get(issue, :priority),
      "scope" => Map.get(issue, :scope)
    }
  end

  defp trigger(nil), do: nil
  defp trigger(t) when is_binary(t), do: t
  defp trigger(t) when is_atom(t), do: Atom.to_string(t)
  defp trigger(t) when is_list(t), do: Enum.map(t, &trigger/1)
  defp trigger(t), do: inspect(t)

  defp short(text) when byte_size(text) > 2000, do: binary_part(text, 0, 2000) <> "..."
  defp short(text), do: text

  # --- a small JSON writer: ASCII-only output, so the reply line survives any stdio encoding ---

  defp json(nil), do: "null"
  defp json(true), do: "true"
  defp json(false), do: "false"
  defp json(v) when is_atom(v), do: json(Atom.to_string(v))
  defp json(v) when is_integer(v), do: Integer.to_string(v)
  defp json(v) when is_float(v), do: Float.to_string(v)

  defp json(v) when is_binary(v) do
    if String.valid?(v), do: [?", escape(v, []), ?"], else: json(inspect(v))
  end

  defp json(v) when is_list(v), do: [?[, Enum.map_intersperse(v, ?,, &json/1), ?]]

  defp json(v) when is_map(v) do
    pairs = Enum.map_intersperse(v, ?,, fn {k, val} -> [json(to_string(k)), ?:, json(val)] end)
    [?{, pairs, ?}]
  end

  defp json(v), do: json(inspect(v))

  defp escape(<<>>, acc), do: Enum.reverse(acc)
  defp escape(<<?", rest::binary>>, acc), do: escape(rest, ["\\\"" | acc])
  defp escape(<<?\\, rest::binary>>, acc), do: escape(rest, ["\\\\" | acc])
  defp escape(<<?\n, rest::binary>>, acc), do: escape(rest, ["\\n" | acc])
  defp escape(<<c::utf8, rest::binary>>, acc) when c < 0x20 or c > 0x7E, do: escape(rest, [u_escape(c) | acc])
  defp escape(<<c, rest::binary>>, acc), do: escape(rest, [c | acc])

  defp u_escape(c) when c > 0xFFFF do
    v = c - 0x10000
    [u_escape(0xD800 + Bitwise.bsr(v, 10)), u_escape(0xDC00 + Bitwise.band(v, 0x3FF))]
  end

  defp u_escape(c), do: "\\u" <> String.pad_leading(Integer.to_string(c, 16), 4, "0")
end

ElixirCoder.CredoRunner.main()
