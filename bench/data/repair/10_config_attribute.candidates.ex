#### good
defmodule Demo.Mailer do
  @moduledoc "Sends mail."

  def sender, do: Application.get_env(:demo, :sender)
end
#### good
defmodule Demo.Mailer do
  @moduledoc "Sends mail."

  @sender Application.compile_env(:demo, :sender)

  def sender, do: @sender
end
#### changes_heads
defmodule Demo.Mailer do
  @moduledoc "Sends mail."

  def sender(app), do: Application.get_env(app, :sender)
end
