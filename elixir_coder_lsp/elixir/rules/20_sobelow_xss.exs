# Sobelow XSS.* rules: unescaped output built from variables.

defmodule ElixirCoder.Rules.Sobelow.XSS.Raw do
  @moduledoc """
  Mirrors Sobelow XSS.Raw for .ex files: `raw/1` (local or any alias ending in `HTML`) on a
  variable, outside controllers (low). In controllers Sobelow instead follows `render` into
  .eex templates, which a single buffer cannot see, so nothing is reported there.
  """
  alias ElixirCoder.Rules.Sobelow.Support

  @doc "Rule id."
  def id, do: "Sobelow.XSS.Raw"

  @doc "Findings for one parsed file (ctx from the engine)."
  def check(%{ast: nil}), do: []

  def check(ctx) do
    if Support.scanned_file?(ctx[:filename]) and Support.file_meta(ctx).controller?,
      do: [],
      else: Support.standard(ctx, id(), :low, [{0, :raw, :HTML, "XSS"}])
  end
end

defmodule ElixirCoder.Rules.Sobelow.XSS.SendResp do
  @moduledoc """
  Mirrors Sobelow XSS.SendResp: the body (3rd argument) of `send_resp` holds a variable. Rated
  from the variables in every module (not only controllers), then lowered or dropped by the
  content types the same function sets (`put_resp_content_type`): none set keeps the rating, all
  HTML keeps it, a non-literal or mixed set gives low, only non-HTML types drop the finding.
  """
  alias ElixirCoder.Rules.Sobelow.Support

  @doc "Rule id."
  def id, do: "Sobelow.XSS.SendResp"

  @doc "Findings for one parsed file (ctx from the engine)."
  def check(ctx) do
    spec = [{2, :send_resp, :Conn, "XSS in `send_resp`"}]
    Support.standard(ctx, id(), nil, spec, fn _call, f, d -> rate(f, content_types(d)) end)
  end

  defp content_types(d) do
    (Support.local_funs(d, :put_resp_content_type) ++
       Support.aliased_funs(d, :put_resp_content_type, :Conn))
    |> Enum.map(fn
      {_, _, [first | _]} -> first
      _ -> nil
    end)
  end

  defp rate(f, []), do: f

  defp rate(f, types) do
    cond do
      Enum.any?(types, &(not is_binary(&1))) -> %{f | confidence: "low"}
      Enum.all?(types, &html?/1) -> f
      Enum.any?(types, &html?/1) -> %{f | confidence: "low"}
      true -> nil
    end
  end

  defp html?(type), do: type |> String.downcase() |> String.contains?("html")
end

defmodule ElixirCoder.Rules.Sobelow.XSS.ContentType do
  @moduledoc "Mirrors Sobelow XSS.ContentType: the content type given to `put_resp_content_type` holds a variable."
  alias ElixirCoder.Rules.Sobelow.Support

  @doc "Rule id."
  def id, do: "Sobelow.XSS.ContentType"

  @doc "Findings for one parsed file (ctx from the engine)."
  def check(ctx) do
    spec = [{1, :put_resp_content_type, :Conn, "XSS in `put_resp_content_type`"}]
    Support.standard(ctx, id(), :controller, spec)
  end
end

defmodule ElixirCoder.Rules.Sobelow.XSS.HTML do
  @moduledoc "Mirrors Sobelow XSS.HTML: the body given to `html/2` (Phoenix.Controller) holds a variable."
  alias ElixirCoder.Rules.Sobelow.Support

  @doc "Rule id."
  def id, do: "Sobelow.XSS.HTML"

  @doc "Findings for one parsed file (ctx from the engine)."
  def check(ctx) do
    Support.standard(ctx, id(), :controller, [{1, :html, :Controller, "XSS in `html`"}])
  end
end
