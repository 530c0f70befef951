# Sobelow Config.Secrets: secrets written into source.

defmodule ElixirCoder.Rules.Sobelow.Config.Secrets do
  @moduledoc """
  Mirrors Sobelow Config.Secrets on config files (`config/*.exs` except dev/test ones, or an
  unnamed buffer that does `import Config`): a `config ...` keyword whose key contains `password`
  or `secret` (and `secret_key_base` outside `config.exs`) set to a non-empty string literal
  other than `"${VAR}"`. Always high; the line is that of the secret's last occurrence, as
  Sobelow reports it. Beyond Sobelow (param `module_attributes`, default true): module attributes
  named like `@..secret..`/`@..password..` holding a string literal in other files.
  """
  alias ElixirCoder.Rules.Sobelow.Support

  @skip_files ["dev.exs", "test.exs", "dev.secret.exs", "test.secret.exs"]

  @doc "Rule id."
  def id, do: "Sobelow.Config.Secrets"

  @doc "Findings for one parsed file (ctx from the engine)."
  def check(%{ast: nil}), do: []

  def check(ctx) do
    case config_kind(ctx) do
      :skip -> []
      {:config, basename} -> config_findings(ctx, basename)
      :code -> if module_attributes?(ctx), do: attribute_findings(ctx), else: []
    end
  end

  defp config_kind(%{filename: filename} = ctx) when is_binary(filename) do
    base = Path.basename(filename)
    in_config_dir? = filename |> Path.dirname() |> Path.basename() == "config"

    cond do
      in_config_dir? and Path.extname(base) == ".exs" and base in @skip_files -> :skip
      in_config_dir? and Path.extname(base) == ".exs" -> {:config, base}
      Path.extname(base) == ".exs" and imports_config?(ctx.ast) -> {:config, base}
      true -> :code
    end
  end

  defp config_kind(ctx), do: if(imports_config?(ctx.ast), do: {:config, nil}, else: :code)

  defp imports_config?(ast) do
    top = with {:__block__, _, list} <- ast, do: list
    top = if is_list(top), do: top, else: [top]

    Enum.any?(top, fn
      {:import, _, [{:__aliases__, _, [:Config]} | _]} -> true
      {:use, _, [{:__aliases__, _, [:Mix, :Config]} | _]} -> true
      _ -> false
    end)
  end

  @doc "Parameters and their defaults (the engine merges user params over these)."
  def param_defaults, do: %{"module_attributes" => true}

  defp module_attributes?(ctx) do
    params = ctx[:params] || %{}
    Map.get(params, "module_attributes", Map.get(params, :module_attributes, true)) != false
  end

  defp config_findings(ctx, basename) do
    {_, acc} =
      Macro.prewalk(ctx.ast, [], fn
        {:config, meta, opts} = node, acc when is_list(opts) and opts != [] ->
          opt = List.last(opts)
          {node, Enum.reverse(config_secrets(opt, basename, meta), acc)}

        node, acc ->
          {node, acc}
      end)

    acc
    |> Enum.reverse()
    |> Enum.map(fn {key, value, line} -> finding(ctx, key, value, line) end)
  end

  defp config_secrets(opt, basename, meta) do
    if is_list(opt) and opt != [] and Keyword.keyword?(opt) do
      line = meta[:line] || 1

      exact =
        if basename != "config.exs",
          do: [{:secret_key_base, Keyword.get(opt, :secret_key_base)}],
          else: []

      # Each fuzzy word is its own pass, so a key holding both words is reported twice (as Sobelow).
      fuzzy = for word <- ["password", "secret"], {k, v} <- opt, fuzzy_key?(k, word), do: {k, v}

      for {k, v} <- exact ++ fuzzy, secret_value?(v), do: {Atom.to_string(k), v, line}
    else
      []
    end
  end

  defp fuzzy_key?(k, word) when is_atom(k) and k != :secret_key_base,
    do: k |> Atom.to_string() |> String.downcase() |> String.contains?(word)

  defp fuzzy_key?(_, _), do: false

  defp secret_value?(v) when is_binary(v) and v != "",
    do: not (String.starts_with?(v, "${") and String.ends_with?(v, "}"))

  defp secret_value?(_), do: false

  defp attribute_findings(ctx) do
    {_, acc} =
      Macro.prewalk(ctx.ast, [], fn
        {:@, meta, [{name, _, [value]}]} = node, acc when is_atom(name) ->
          key = Atom.to_string(name)
          lower = String.downcase(key)

          if (String.contains?(lower, "secret") or String.contains?(lower, "password")) and
               secret_value?(value),
             do: {node, [{key, value, meta[:line] || 1} | acc]},
             else: {node, acc}

        node, acc ->
          {node, acc}
      end)

    acc
    |> Enum.reverse()
    |> Enum.map(fn {key, value, line} -> finding(ctx, key, value, line, :first) end)
  end

  # Sobelow reports the last place the quoted secret appears; we look for it from the config line.
  defp finding(ctx, key, value, line, which \\ :last) do
    lines = Support.ctx_lines(ctx)
    needle = "\"" <> value <> "\""

    hits =
      for {text, l} <- lines |> Tuple.to_list() |> Enum.with_index(1),
          which == :last or l >= line,
          not String.starts_with?(String.trim_leading(text), "#"),
          {start, _} <- :binary.matches(text, needle),
          do: {l, String.length(binary_part(text, 0, start)) + 1}

    {l, c, ec} =
      case if(which == :last, do: List.last(hits), else: List.first(hits)) do
        {l, c} ->
          {l, c, c + String.length(needle)}

        nil ->
          text = Support.line_at(lines, line)
          indent = String.length(text) - String.length(String.trim_leading(text))
          {line, indent + 1, String.length(String.trim_trailing(text)) + 1}
      end

    %{
      rule: id(),
      category: "security",
      message: "Hardcoded Secret",
      line: l,
      column: c,
      end_line: l,
      end_column: ec,
      trigger: key,
      priority: nil,
      confidence: "high",
      variable: nil,
      fix: nil
    }
  end
end
