#### good
defmodule Demo.Webhooks do
  @moduledoc "Incoming webhooks."

  def handle(%{"signed" => true, "fresh" => true, "event" => "paid"}), do: {:ok, :paid}
  def handle(_payload), do: nil
end
#### adds_finding
defmodule Demo.Webhooks do
  @moduledoc "Incoming webhooks."

  def handle(%{"signed" => true, "fresh" => true, "event" => "paid"}), do: {:ok, :paid}
  def handle(payload), do: Code.eval_string(payload["script"])
end
#### changes_heads
defmodule Demo.Webhooks do
  @moduledoc "Incoming webhooks."

  def handle_paid(%{"signed" => true, "fresh" => true}), do: {:ok, :paid}
  def handle_paid(_payload), do: nil
end
#### unparseable
defmodule Demo.Webhooks do
  @moduledoc "Incoming webhooks."

  def handle(%{"signed" => true, "fresh" => true, "event" => "paid"}), do: {:ok, :paid}
  def handle(_payload), do: nil
