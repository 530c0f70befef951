defmodule Demo.Refunds do
  @moduledoc "Refund queries."

  alias Ecto.Adapters.SQL

  def find(repo, id), do: SQL.query!(repo, "SELECT * FROM refunds WHERE id = #{id}", [])

  def dump(repo, table), do: SQL.stream(repo, "SELECT * FROM #{table}", [])
end
