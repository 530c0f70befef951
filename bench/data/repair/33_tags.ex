defmodule Demo.Cache do
  @moduledoc "A small cache."

  # TODO: evict old entries
  def put(cache, key, value), do: Map.put(cache, key, value)

  # FIXME: returns nil for missing keys
  def get(cache, key), do: Map.get(cache, key)
end
