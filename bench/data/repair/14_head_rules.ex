defmodule Demo.Accounts do
  @moduledoc "Account checks."

  def fetchUser(id), do: %{id: id}

  def is_admin?(user), do: user.role == :admin

  def create(name, email, phone, street, city, zip, country, role, team) do
    %{name: name, email: email, phone: phone, address: {street, city, zip, country}, role: role, team: team}
  end
end
