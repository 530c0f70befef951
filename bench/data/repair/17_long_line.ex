defmodule Demo.Report do
  @moduledoc "Report lines."

  def line(%{id: id, customer: customer, total: total, currency: currency, status: status, note: note}) do
    fields = [id, customer, total, currency, status, note, :exported, :by, :the, :nightly, :report, :job, :at, :midnight, :utc]
    Enum.join(fields, ";")
  end
end
