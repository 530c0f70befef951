# Part of the Elixir helper (see ../helper.exs for the protocol). The request loop: reading, limits, dispatch, responses, and loading rules/*.exs.

defmodule ElixirCoder.Helper.Server do
  @moduledoc "Reads request lines, runs each in a limited process, writes responses in one place."

  alias ElixirCoder.JSON

  @default_timeout_ms 30_000
  # Refuse new work above this share of the atom table; the client recycles well before.
  @refuse_at 0.9
  # After stdin closes, in-flight requests get this long to finish.
  @drain_ms 10_000

  @doc "Runs the helper until stdin closes."
  @spec main(Path.t()) :: no_return()
  def main(dir) do
    :io.setopts(:standard_io, binary: true, encoding: :latin1)
    # Logger (and crash reports of plain processes) print to stdout by default: move them away.
    Logger.configure_backend(:console, device: :standard_error)
    {rule_ops, errors} = load_rules(dir)
    ops = Map.merge(rule_ops, ElixirCoder.Helper.Ops.builtin())
    :persistent_term.put({__MODULE__, :ops}, ops)
    :persistent_term.put({__MODULE__, :rule_errors}, errors)

    writer = spawn_link(fn -> writer_loop() end)
    dispatcher = spawn_link(fn -> dispatch_loop(writer, 0, :queue.new(), :open) end)
    # The hello line (id null) tells the client the boot is over, so its timeouts start now.
    hello = %{
      id: nil,
      ok: true,
      result: %{ready: true, ops: op_names(), rule_errors: errors},
      atoms: atoms()
    }

    send(writer, {:write, JSON.encode_to_iodata!(hello)})
    read_loop(dispatcher)
  end

  @doc "Names of all ops (built-in and from rules)."
  @spec op_names() :: [String.t()]
  def op_names, do: {__MODULE__, :ops} |> :persistent_term.get(%{}) |> Map.keys() |> Enum.sort()

  @doc "Messages for rules files that failed to load."
  @spec rule_errors() :: [String.t()]
  def rule_errors, do: :persistent_term.get({__MODULE__, :rule_errors}, [])

  @doc "Current [atom_count, atom_limit]."
  @spec atoms() :: [non_neg_integer()]
  def atoms, do: [:erlang.system_info(:atom_count), :erlang.system_info(:atom_limit)]

  defp max_heap_words do
    mb =
      case Integer.parse(System.get_env("ELIXIR_CODER_HELPER_MAX_HEAP_MB") || "") do
        {n, ""} when n > 0 -> n
        _ -> 1024
      end

    div(mb * 1024 * 1024, :erlang.system_info(:wordsize))
  end

  defp read_loop(dispatcher) do
    case IO.binread(:stdio, :line) do
      line when is_binary(line) ->
        line = String.trim_trailing(line, "\n")
        if line != "", do: send(dispatcher, {:line, line})
        read_loop(dispatcher)

      _eof_or_error ->
        # The client closed our stdin: finish what is in flight (bounded), then halt.
        send(dispatcher, :eof)
        Process.sleep(@drain_ms)
        System.halt(0)
    end
  end

  defp writer_loop do
    receive do
      {:write, iodata} -> IO.binwrite(:stdio, [iodata, ?\n])
      :halt -> System.halt(0)
    end

    writer_loop()
  end

  defp dispatch_loop(writer, running, queue, eof) do
    # Each request may use up to the heap limit; bound how many run at once by the cores.
    max_concurrent = min(16, max(4, 2 * :erlang.system_info(:schedulers_online)))
    if eof == :eof and running == 0 and :queue.is_empty(queue), do: send(writer, :halt)

    receive do
      :eof ->
        dispatch_loop(writer, running, queue, :eof)

      {:line, line} when running >= max_concurrent ->
        if cheap?(line) do
          # Health checks must not wait behind a full queue of heavy parses.
          spawn(fn -> run(line, writer, max_heap_words()) end)
          dispatch_loop(writer, running, queue, eof)
        else
          dispatch_loop(writer, running, :queue.in(line, queue), eof)
        end

      {:line, line} ->
        start_runner(line, writer)
        dispatch_loop(writer, running + 1, queue, eof)

      {:DOWN, _ref, :process, _pid, _reason} ->
        case :queue.out(queue) do
          {{:value, line}, queue} ->
            start_runner(line, writer)
            dispatch_loop(writer, running, queue, eof)

          {:empty, queue} ->
            dispatch_loop(writer, running - 1, queue, eof)
        end
    end
  end

  defp cheap?(line) do
    head = binary_part(line, 0, min(byte_size(line), 80))
    :binary.match(head, ["\"op\":\"ping\"", "\"op\":\"stats\""]) != :nomatch
  end

  defp start_runner(line, writer) do
    heap = max_heap_words()
    spawn_monitor(fn -> run(line, writer, heap) end)
  end

  # The runner owns the response: exactly one line per request, whatever happens to the worker.
  defp run(line, writer, heap) do
    runner = self()
    started = System.monotonic_time(:millisecond)
    {pid, ref} = spawn_monitor(fn -> work(line, runner, heap) end)
    id = peek_id(line)
    await(pid, ref, id, started + @default_timeout_ms, writer, heap)
  end

  defp await(pid, ref, id, deadline, writer, heap) do
    wait = max(deadline - System.monotonic_time(:millisecond), 0)

    receive do
      {:request, ^pid, id, timeout_ms} ->
        deadline =
          if is_integer(timeout_ms) and timeout_ms > 0,
            do: deadline - @default_timeout_ms + timeout_ms,
            else: deadline

        await(pid, ref, id, deadline, writer, heap)

      {:response, ^pid, iodata} ->
        Process.demonitor(ref, [:flush])
        send(writer, {:write, iodata})

      {:DOWN, ^ref, :process, ^pid, reason} ->
        {kind, message} =
          case reason do
            :killed ->
              {"too_large",
               "the request needed more than #{div(heap * :erlang.system_info(:wordsize), 1024 * 1024)} MB " <>
                 "of memory and was stopped; the input is too large or too deeply nested"}

            other ->
              {"internal", "the request's process failed: #{inspect(other, limit: 20)}"}
          end

        send(writer, {:write, error_line(id, kind, message)})
    after
      wait ->
        Process.exit(pid, :kill)
        Process.demonitor(ref, [:flush])

        send(
          writer,
          {:write,
           error_line(id, "timeout", "the request ran longer than its time limit and was stopped")}
        )
    end
  end

  # Only for error lines written when the worker died before decoding the request.
  defp peek_id(line) do
    case Regex.run(
           ~r/\A\s*\{\s*"id"\s*:\s*(-?\d+)/,
           binary_part(line, 0, min(byte_size(line), 64))
         ) do
      [_, digits] -> String.to_integer(digits)
      nil -> nil
    end
  end

  defp error_line(id, kind, message) do
    JSON.encode_to_iodata!(%{
      id: id,
      ok: false,
      error: %{kind: kind, message: message},
      atoms: atoms()
    })
  end

  defp work(line, runner, heap) do
    Process.flag(:max_heap_size, %{size: heap, kill: true, error_logger: false})
    # Stray output from ops (IO.inspect in a rule) must not corrupt the protocol on stdout.
    Process.group_leader(self(), Process.whereis(:standard_error))

    response =
      case JSON.decode(line) do
        {:ok, %{"id" => id, "op" => op} = request} when is_binary(op) ->
          send(runner, {:request, self(), id, request["timeout_ms"]})
          handle(id, op, Map.get(request, "args") || %{})

        {:ok, %{"id" => id}} ->
          error(id, "bad_request", "the request needs an \"op\" string")

        {:ok, _} ->
          error(nil, "bad_request", "a request must be an object with \"id\" and \"op\"")

        {:error, message} ->
          error(nil, "bad_request", "the request is not valid JSON: " <> message)
      end

    iodata =
      try do
        JSON.encode_to_iodata!(response)
      rescue
        e ->
          JSON.encode_to_iodata!(
            error(
              response[:id],
              "internal",
              "the op returned a value JSON cannot carry: " <> Exception.message(e)
            )
          )
      end

    send(runner, {:response, self(), IO.iodata_to_binary(iodata)})
  end

  defp handle(id, op, args) when is_map(args) do
    ops = :persistent_term.get({__MODULE__, :ops})
    [count, limit] = atoms()
    # Each new atom costs at least ~4 bytes of source, so this bounds what parsing can add:
    # running out of atoms would kill the whole VM, not just this request.
    worst_case = count + div(byte_size(Map.get(args, "code", "") |> to_binary()), 4)

    cond do
      op not in ["ping", "stats"] and (count > @refuse_at * limit or worst_case >= limit) ->
        error(
          id,
          "recycle",
          "the atom table is #{round(100 * count / limit)}% full (#{count} of #{limit}) " <>
            "and this input could need up to #{worst_case - count} more; restart the helper"
        )

      not Map.has_key?(ops, op) ->
        error(
          id,
          "unknown_op",
          "unknown op #{inspect(op)}; known ops: #{Enum.join(Enum.sort(Map.keys(ops)), ", ")}"
        )

      true ->
        with :ok <- ElixirCoder.Helper.Limits.check(args) do
          call(id, Map.fetch!(ops, op), args)
        else
          {:error, kind, message} -> error(id, kind, message)
        end
    end
  end

  defp handle(id, _op, _args), do: error(id, "bad_request", "args must be an object")

  defp to_binary(value) when is_binary(value), do: value
  defp to_binary(_value), do: ""

  defp call(id, fun, args) do
    case fun.(args) do
      {:ok, result} ->
        %{id: id, ok: true, result: result, atoms: atoms()}

      {:error, kind, message} ->
        error(id, to_string(kind), to_string(message))

      other ->
        error(
          id,
          "internal",
          "the op returned #{inspect(other, limit: 10)}; expected {:ok, _} or {:error, kind, message}"
        )
    end
  rescue
    e -> error(id, "internal", Exception.message(e))
  catch
    kind, reason -> error(id, "internal", "#{kind}: #{inspect(reason, limit: 10)}")
  end

  defp error(id, kind, message),
    do: %{id: id, ok: false, error: %{kind: kind, message: message}, atoms: atoms()}

  # Rules files are optional and written by others: one that fails to load is logged and skipped.
  # Compiling them takes seconds, so the modules are cached as .beam files in the directory named
  # by ELIXIR_CODER_HELPER_RULES_CACHE (the client keys it by the rules' contents).
  defp load_rules(dir) do
    cache = System.get_env("ELIXIR_CODER_HELPER_RULES_CACHE")

    case cache && read_rules_cache(cache) do
      {:ok, file_modules, errors} ->
        Enum.each(errors, &IO.puts(:stderr, "elixir-coder helper: skipping rules file #{&1}"))
        collect_ops(file_modules, errors)

      _ ->
        {loaded, errors} = compile_rules(dir)
        if cache, do: write_rules_cache(cache, loaded, errors)
        collect_ops(Enum.map(loaded, fn {file, mod, _bin} -> {file, mod} end), errors)
    end
  end

  defp compile_rules(dir) do
    dir
    |> Path.join("rules/*.exs")
    |> Path.wildcard()
    |> Enum.sort()
    |> Enum.reduce({[], []}, fn file, {loaded, errors} ->
      case require_file(file) do
        {:ok, modules} ->
          {loaded ++ Enum.map(modules, fn {mod, bin} -> {file, mod, bin} end), errors}

        {:error, message} ->
          {loaded, errors ++ [log_error(file, message)]}
      end
    end)
  end

  defp collect_ops(file_modules, errors) do
    {ops, errors} =
      Enum.reduce(file_modules, {%{}, Enum.reverse(errors)}, fn {file, mod}, {ops, errors} ->
        case module_ops(mod) do
          {:ok, more} -> {Map.merge(ops, more), errors}
          {:error, message} -> {ops, [log_error(file, message) | errors]}
        end
      end)

    {ops, Enum.reverse(errors)}
  end

  defp read_rules_cache(cache) do
    with {:ok, bin} <- File.read(Path.join(cache, "manifest.etf")),
         %{modules: modules, errors: errors} <- :erlang.binary_to_term(bin) do
      :code.add_patha(String.to_charlist(cache))

      if Enum.all?(modules, fn {_file, mod} -> match?({:module, _}, Code.ensure_loaded(mod)) end),
        do: {:ok, modules, errors},
        else: :stale
    else
      _ -> :missing
    end
  rescue
    _ -> :missing
  end

  # Best effort: a cache that cannot be written only costs the next boot its compile time.
  defp write_rules_cache(cache, loaded, errors) do
    tmp = "#{cache}.tmp-#{:os.getpid()}"
    File.rm_rf!(tmp)
    File.mkdir_p!(tmp)
    Enum.each(loaded, fn {_file, mod, bin} -> File.write!(Path.join(tmp, "#{mod}.beam"), bin) end)

    manifest = %{
      modules: Enum.map(loaded, fn {file, mod, _bin} -> {file, mod} end),
      errors: errors
    }

    File.write!(Path.join(tmp, "manifest.etf"), :erlang.term_to_binary(manifest))

    # An existing directory here is unreadable or stale (else we would have loaded it): replace it.
    with {:error, _} <- File.rename(tmp, cache),
         {:ok, _} <- File.rm_rf(cache),
         {:error, _} <- File.rename(tmp, cache) do
      File.rm_rf(tmp)
    end
  rescue
    e ->
      IO.puts(
        :stderr,
        "elixir-coder helper: could not cache compiled rules: #{Exception.message(e)}"
      )
  end

  defp log_error(file, message) do
    text = "#{Path.basename(file)}: #{message}"
    IO.puts(:stderr, "elixir-coder helper: skipping rules file #{text}")
    text
  end

  defp require_file(file) do
    parent = self()

    {pid, ref} =
      spawn_monitor(fn ->
        Process.group_leader(self(), Process.whereis(:standard_error))

        result =
          try do
            {:ok, Code.require_file(file) || []}
          rescue
            e -> {:error, Exception.message(e)}
          catch
            kind, reason -> {:error, "#{kind}: #{inspect(reason, limit: 10)}"}
          end

        send(parent, {:loaded, self(), result})
      end)

    receive do
      {:loaded, ^pid, result} ->
        Process.demonitor(ref, [:flush])
        result

      {:DOWN, ^ref, :process, ^pid, reason} ->
        {:error, "loading crashed: #{inspect(reason, limit: 10)}"}
    after
      30_000 ->
        Process.exit(pid, :kill)
        {:error, "loading took longer than 30 s"}
    end
  end

  defp module_ops(mod) do
    if function_exported?(mod, :__helper_ops__, 0) do
      case mod.__helper_ops__() do
        ops when is_map(ops) ->
          bad = for {name, fun} <- ops, not (is_binary(name) and is_function(fun, 1)), do: name

          if bad == [],
            do: {:ok, ops},
            else:
              {:error,
               "#{inspect(mod)}.__helper_ops__/0 has bad entries #{inspect(bad)} (need \"name\" => fun/1)"}

        other ->
          {:error,
           "#{inspect(mod)}.__helper_ops__/0 returned #{inspect(other, limit: 5)}, not a map"}
      end
    else
      {:ok, %{}}
    end
  rescue
    e -> {:error, "#{inspect(mod)}.__helper_ops__/0 raised: #{Exception.message(e)}"}
  end
end
