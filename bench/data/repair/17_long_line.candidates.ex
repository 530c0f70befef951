#### good
defmodule Demo.Report do
  @moduledoc "Report lines."

  @suffix [:exported, :by, :the, :nightly, :report, :job, :at, :midnight, :utc]

  def line(%{id: id, customer: customer, total: total, currency: currency, status: status, note: note}) do
    fields = [id, customer, total, currency, status, note | @suffix]
    Enum.join(fields, ";")
  end
end
#### adds_finding
defmodule Demo.Report do
  @moduledoc "Report lines."

  @suffix [:exported, :by, :the, :nightly, :report, :job, :at, :midnight, :utc]

  def line(%{id: id, customer: customer, total: total, currency: currency, status: status, note: note}) do
    fields = [id, customer, total, currency, status, note | @suffix]
    Enum.join(fields,";")
  end
end
#### unparseable
defmodule Demo.Report do
  @moduledoc "Report lines."

  @suffix [:exported, :by, :the, :nightly, :report, :job, :at, :midnight, :utc]

  def line(%{id: id, customer: customer, total: total, currency: currency, status: status, note: note}) do
    fields = [id, customer, total, currency, status, note | @suffix
    Enum.join(fields, ";")
  end
end
