#### good
defmodule Demo.Refunds do
  @moduledoc "Refund queries."

  alias Ecto.Adapters.SQL

  def find(repo, id), do: SQL.query!(repo, "SELECT * FROM refunds WHERE id = $1", [id])

  def dump(repo, "refunds"), do: SQL.stream(repo, "SELECT * FROM refunds", [])
  def dump(repo, "orders"), do: SQL.stream(repo, "SELECT * FROM orders", [])
end
#### adds_finding
defmodule Demo.Refunds do
  @moduledoc "Refund queries."

  alias Ecto.Adapters.SQL

  def find(repo, id), do: SQL.query!(repo, "SELECT * FROM refunds WHERE id = $1", [id])

  def dump(repo, table), do: SQL.stream(repo, "SELECT * FROM " <> table, []) |> IO.inspect()
end
#### unparseable
defmodule Demo.Refunds do
  @moduledoc "Refund queries."

  alias Ecto.Adapters.SQL

  def find(repo, id), do: SQL.query!(repo, "SELECT * FROM refunds WHERE id = $1", [id]

  def dump(repo), do: SQL.stream(repo, "SELECT * FROM refunds", [])
end
