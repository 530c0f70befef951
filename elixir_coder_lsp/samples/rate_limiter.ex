defmodule Gateway.RateLimiter do
  @moduledoc """
  A token-bucket rate limiter backed by ETS, one bucket per client id.
  """
  use Agent

  @table :gateway_rate_limiter
  @default_capacity 10
  @refill_per_second 2

  def start_link(_opts) do
    Agent.start_link(
      fn -> :ets.new(@table, [:named_table, :public, :set, read_concurrency: true]) end,
      name: __MODULE__
    )
  end

  @doc "Returns `:ok` when the client may proceed, `{:error, :rate_limited}` otherwise."
  @spec check(term(), keyword()) :: :ok | {:error, :rate_limited}
  def check(client_id, opts \\ []) do
    capacity = Keyword.get(opts, :capacity, @default_capacity)
    now = System.monotonic_time(:millisecond)

    {tokens, last} =
      case :ets.lookup(@table, client_id) do
        [{^client_id, tokens, last}] -> {tokens, last}
        [] -> {capacity, now}
      end

    refilled = min(capacity, tokens + div((now - last) * @refill_per_second, 1000))

    cond do
      refilled >= 1 ->
        :ets.insert(@table, {client_id, refilled - 1, now})
        :ok

      true ->
        {:error, :rate_limited}
    end
  end

  def reset(client_id), do: :ets.delete(@table, client_id)
end
