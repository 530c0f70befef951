#### changes_heads
defmodule Demo.Accounts do
  @moduledoc "Account checks."

  def fetch_user(id), do: %{id: id}

  def admin?(user), do: user.role == :admin

  def create(attrs) do
    Map.new(attrs)
  end
end
#### changes_heads
defmodule Demo.Accounts do
  @moduledoc "Account checks."

  def fetchUser(id), do: %{id: id}

  def is_admin?(user), do: user.role == :admin

  def create(contact, address, role, team) do
    %{contact: contact, address: address, role: role, team: team}
  end
end
#### adds_finding
defmodule Demo.Accounts do
  @moduledoc "Account checks."

  def fetchUser(id), do: IO.inspect(%{id: id})

  def is_admin?(user), do: user.role == :admin

  def create(name, email, phone, street, city, zip, country, role, team) do
    %{name: name, email: email, phone: phone, address: {street, city, zip, country}, role: role, team: team}
  end
end
