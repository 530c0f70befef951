#### good
defmodule Demo.Notify do
  @moduledoc "Notifications."

  def send?(user) do
    if user.muted do
      false
    end
  end
end
#### adds_finding
defmodule Demo.Notify do
  @moduledoc "Notifications."

  def send?(user) do
    if !user.muted do
      nil
    else
      false
    end
  end
end
#### unparseable
defmodule Demo.Notify do
  @moduledoc "Notifications."

  def send?(user) do
    if user.muted do
      false
  end
end
