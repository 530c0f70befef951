defmodule Demo.Access do
  @moduledoc "Access checks."

  def check(user) do
    cond do
      user.admin -> :allow
      true -> :deny
    end
  end
end
