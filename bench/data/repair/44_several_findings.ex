defmodule Demo.Webhooks do
  @moduledoc "Incoming webhooks."

  def handle(payload) do
    IO.inspect(payload)
    event = String.to_atom(payload["event"])

    if payload["signed"] do
      if payload["fresh"] do
        if event == :paid do
          {:ok, :paid}
        end
      end
    end
  end
end
