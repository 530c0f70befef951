# Sobelow Config.* rules on Phoenix routers: pipelines missing CSRF protection or browser headers.

defmodule ElixirCoder.Rules.Sobelow.RouterSupport do
  @moduledoc "Pipelines of a Phoenix router buffer, as Sobelow reads them."
  alias ElixirCoder.Rules.Sobelow.Support

  @doc """
  True for a router: `use X, :router` (Sobelow's test) or a file named router.ex (Sobelow also
  scans the app's default router path).
  """
  def router?(%{ast: nil}), do: false

  def router?(ctx) do
    named? = is_binary(ctx[:filename]) and Path.basename(ctx[:filename]) == "router.ex"
    named? or Support.file_meta(ctx).router?
  end

  @doc "Every `pipeline name do ... end` with its plugs: [{pipeline_node, name, [plug_node]}]."
  def pipelines(ast) do
    {_, acc} =
      Macro.prewalk(ast, [], fn
        {:pipeline, _, [name, [do: block]]} = node, acc ->
          {node, [{node, name, plugs(block)} | acc]}

        node, acc ->
          {node, acc}
      end)

    Enum.reverse(acc)
  end

  defp plugs({:__block__, _, list}), do: Enum.filter(list, &match?({:plug, _, _}, &1))
  defp plugs({:plug, _, _} = plug), do: [plug]
  defp plugs(_), do: []

  @doc "Whether the plug list has `plug name` / `plug name, opts`."
  def plug?(plugs, name), do: Enum.any?(plugs, &match?({:plug, _, [^name | _]}, &1))

  @doc "A Config.* finding on `node`'s line, covering `pipeline :name` or `plug :name`."
  def finding(ctx, rule_id, message, {kind, meta, [name | _]}, pipeline, confidence) do
    lines = Support.ctx_lines(ctx)
    line = meta[:line] || 1
    col = meta[:column] || 1
    head = "#{kind} #{inspect(name)}"

    end_col =
      if Support.text_at(lines, line, col, String.length(head)) == head,
        do: col + String.length(head),
        else: String.length(String.trim_trailing(Support.line_at(lines, line))) + 1

    %{
      rule: rule_id,
      category: "security",
      message: message,
      line: line,
      column: col,
      end_line: line,
      end_column: end_col,
      trigger:
        if(is_atom(pipeline), do: Atom.to_string(pipeline), else: Macro.to_string(pipeline)),
      priority: nil,
      confidence: confidence,
      variable: nil,
      fix: nil
    }
  end
end

defmodule ElixirCoder.Rules.Sobelow.Config.CSRF do
  @moduledoc "Mirrors Sobelow Config.CSRF: a router pipeline fetches the session without `:protect_from_forgery`."
  alias ElixirCoder.Rules.Sobelow.RouterSupport, as: R

  @doc "Rule id."
  def id, do: "Sobelow.Config.CSRF"

  @doc "Findings for one parsed file (ctx from the engine)."
  def check(ctx) do
    if R.router?(ctx) do
      for {node, name, plugs} <- R.pipelines(ctx.ast),
          R.plug?(plugs, :fetch_session) and not R.plug?(plugs, :protect_from_forgery),
          do: R.finding(ctx, id(), "Missing CSRF Protections", node, name, "high")
    else
      []
    end
  end
end

defmodule ElixirCoder.Rules.Sobelow.Config.Headers do
  @moduledoc """
  Mirrors Sobelow Config.Headers: a router pipeline that accepts "html" lacks
  `:put_secure_browser_headers`. As in Sobelow, the accepted formats are read from the
  pipeline's first plug (`plug :accepts, ["html"]` or `~w(html)`).
  """
  alias ElixirCoder.Rules.Sobelow.RouterSupport, as: R

  @doc "Rule id."
  def id, do: "Sobelow.Config.Headers"

  @doc "Findings for one parsed file (ctx from the engine)."
  def check(ctx) do
    if R.router?(ctx) do
      for {node, name, plugs} <- R.pipelines(ctx.ast),
          not R.plug?(plugs, :put_secure_browser_headers),
          "html" in accepts(plugs),
          do: R.finding(ctx, id(), "Missing Secure Browser Headers", node, name, "high")
    else
      []
    end
  end

  defp accepts([{:plug, _, [:accepts, {:sigil_w, _, [{:<<>>, _, [text | _]}, []]}]} | _])
       when is_binary(text),
       do: String.split(text, " ")

  defp accepts([{:plug, _, [:accepts, list]} | _]) when is_list(list), do: list
  defp accepts(_), do: []
end

defmodule ElixirCoder.Rules.Sobelow.Config.CSP do
  @moduledoc """
  Mirrors Sobelow Config.CSP: `plug :put_secure_browser_headers` in a router pipeline sets no
  `content-security-policy` (bare plug, or a literal map / module attribute map without that
  key: high; headers given some other way: low). Reported on the plug's line.
  """
  alias ElixirCoder.Rules.Sobelow.RouterSupport, as: R

  @doc "Rule id."
  def id, do: "Sobelow.Config.CSP"

  @doc "Findings for one parsed file (ctx from the engine)."
  def check(ctx) do
    if R.router?(ctx) do
      attrs = module_attrs(ctx.ast)

      for {_node, name, plugs} <- R.pipelines(ctx.ast),
          plug = Enum.find(plugs, &match?({:plug, _, [:put_secure_browser_headers | _]}, &1)),
          plug != nil,
          confidence = missing_csp(plug, attrs),
          confidence != nil,
          do: R.finding(ctx, id(), "Missing Content-Security-Policy", plug, name, confidence)
    else
      []
    end
  end

  defp missing_csp({:plug, _, [_]}, _attrs), do: "high"
  defp missing_csp({:plug, _, [_, {:%{}, _, kvs}]}, _attrs), do: unless(csp?(kvs), do: "high")

  defp missing_csp({:plug, _, [_, {:@, _, [{attr, _, nil} | _]}]}, attrs) do
    case Map.get(attrs, attr) do
      {:%{}, _, kvs} -> unless(csp?(kvs), do: "high")
      _ -> "high"
    end
  end

  defp missing_csp(_plug, _attrs), do: "low"

  defp csp?(kvs) do
    Enum.any?(kvs, fn
      {key, _} when is_binary(key) -> String.downcase(key) == "content-security-policy"
      _ -> false
    end)
  end

  defp module_attrs(ast) do
    {_, acc} =
      Macro.prewalk(ast, %{}, fn
        {:@, _, [{name, _, [value]}]} = node, acc when is_atom(name) ->
          {node, Map.put_new(acc, name, value)}

        node, acc ->
          {node, acc}
      end)

    acc
  end
end
