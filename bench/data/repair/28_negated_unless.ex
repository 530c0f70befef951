defmodule Demo.Notify do
  @moduledoc "Notifications."

  def send?(user) do
    unless not user.muted do
      false
    end
  end
end
