defmodule Inventory.CounterServer do
  @moduledoc """
  Keeps per-key counters in memory and flushes them to storage every few seconds.
  """
  use GenServer
  require Logger

  @flush_interval :timer.seconds(5)

  ## Client API

  @doc "Starts the counter server linked to the caller."
  @spec start_link(keyword()) :: GenServer.on_start()
  def start_link(opts \\ []) do
    name = Keyword.get(opts, :name, __MODULE__)
    GenServer.start_link(__MODULE__, opts, name: name)
  end

  @doc "Adds `amount` to the counter stored under `key`."
  def increment(server \\ __MODULE__, key, amount \\ 1) when is_integer(amount) do
    GenServer.cast(server, {:increment, key, amount})
  end

  @doc "Returns the current value for `key`, or 0 when it was never set."
  def get(server \\ __MODULE__, key) do
    GenServer.call(server, {:get, key})
  end

  ## Server callbacks

  @impl true
  def init(opts) do
    storage = Keyword.get(opts, :storage, Inventory.Storage)
    schedule_flush()
    {:ok, %{counters: %{}, storage: storage, dirty: MapSet.new()}}
  end

  @impl true
  def handle_cast({:increment, key, amount}, state) do
    counters = Map.update(state.counters, key, amount, &(&1 + amount))
    {:noreply, %{state | counters: counters, dirty: MapSet.put(state.dirty, key)}}
  end

  @impl true
  def handle_call({:get, key}, _from, state) do
    {:reply, Map.get(state.counters, key, 0), state}
  end

  @impl true
  def handle_info(:flush, %{dirty: dirty} = state) do
    if MapSet.size(dirty) > 0 do
      changes = Map.take(state.counters, MapSet.to_list(dirty))

      case state.storage.write_many(changes) do
        :ok ->
          Logger.debug("flushed #{map_size(changes)} counters")

        {:error, reason} ->
          Logger.warning("flush failed: #{inspect(reason)}")
      end
    end

    schedule_flush()
    {:noreply, %{state | dirty: MapSet.new()}}
  end

  defp schedule_flush do
    Process.send_after(self(), :flush, @flush_interval)
  end
end
