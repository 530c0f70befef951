defmodule Demo.Mailer do
  @moduledoc "Sends mail."

  @sender Application.get_env(:demo, :sender)

  def sender, do: @sender
end
