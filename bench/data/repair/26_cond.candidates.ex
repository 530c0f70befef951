#### good
defmodule Demo.Access do
  @moduledoc "Access checks."

  def check(user) do
    if user.admin, do: :allow, else: :deny
  end
end
#### adds_finding
defmodule Demo.Access do
  @moduledoc "Access checks."

  def check(user) do
    unless !user.admin, do: :allow, else: :deny
  end
end
#### changes_heads
defmodule Demo.Access do
  @moduledoc "Access checks."

  def check(user, role) do
    if user.role == role, do: :allow, else: :deny
  end
end
