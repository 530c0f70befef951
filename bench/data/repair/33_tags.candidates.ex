#### good
defmodule Demo.Cache do
  @moduledoc "A small cache."

  def put(cache, key, value), do: Map.put(cache, key, value)

  def get(cache, key), do: Map.fetch(cache, key)
end
#### changes_heads
defmodule Demo.Cache do
  @moduledoc "A small cache."

  def put(cache, key, value), do: Map.put(cache, key, value)

  def get(cache, key, default), do: Map.get(cache, key, default)
end
#### unparseable
defmodule Demo.Cache do
  @moduledoc "A small cache."

  def put(cache, key, value), do: Map.put(cache, key, value)

  def get(cache, key), do: Map.fetch(cache, key))
end
