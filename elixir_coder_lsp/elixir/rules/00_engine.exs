# Built-in rule engine: parses once, runs every Credo-/Sobelow-mirroring rule module,
# applies Credo's scope priorities and suppression comments. Ops: "check", "credo_config".
# Rule modules: ElixirCoder.Rules.Credo.* / ElixirCoder.Rules.Sobelow.* exporting id/0 and check/1.

defmodule ElixirCoder.Rules do
  @moduledoc false

  # CredoSupport lives in 01_ast.exs (loaded after this file): called through support/0.
  defp support, do: ElixirCoder.Rules.CredoSupport

  @prefixes ["Elixir.ElixirCoder.Rules.Credo.", "Elixir.ElixirCoder.Rules.Sobelow."]

  def __helper_ops__, do: %{"check" => &check/1, "credo_config" => &credo_config/1}

  @doc "Every loaded rule module (cached after the first call)."
  def rule_modules do
    case :persistent_term.get({__MODULE__, :rules}, nil) do
      nil ->
        mods =
          for {mod, _} <- :code.all_loaded(),
              name = Atom.to_string(mod),
              Enum.any?(@prefixes, &String.starts_with?(name, &1)),
              function_exported?(mod, :id, 0) and function_exported?(mod, :check, 1),
              do: mod

        mods = Enum.sort_by(mods, &Atom.to_string/1)
        if mods != [], do: :persistent_term.put({__MODULE__, :rules}, mods)
        mods

      mods ->
        mods
    end
  end

  def reset_rules, do: :persistent_term.erase({__MODULE__, :rules})

  @doc "Run the built-in rules on one buffer."
  def check(args) when is_map(args) do
    code = args["code"]

    if not is_binary(code) do
      {:error, "bad_request", "check needs a \"code\" string"}
    else
      {:ok, run(code, args)}
    end
  end

  def run(code, args) do
    sets = args["sets"] || ["credo", "sobelow"]
    disabled = MapSet.new(args["disabled"] || [])
    enabled = MapSet.new(args["enabled"] || [])
    only = args["only"]
    user_params = args["params"] || %{}
    filename = args["filename"]

    lines = code |> String.split(["\r\n", "\n"]) |> List.to_tuple()

    {ast, comments, syntax_error} =
      case Code.string_to_quoted_with_comments(code,
             columns: true,
             token_metadata: true,
             emit_warnings: false,
             file: filename || "nofile"
           ) do
        {:ok, ast, comments} -> {ast, comments, nil}
        {:error, err} -> {nil, [], syntax_error(err)}
      end

    ctx = %{
      ast: ast,
      source: code,
      lines: lines,
      comments: comments,
      filename: filename,
      params: %{},
      syntax_error: syntax_error,
      cache_key: make_ref()
    }

    rules =
      rule_modules()
      |> Enum.filter(fn mod -> rule_set(mod) in sets end)
      |> Enum.filter(&enabled?(&1, enabled, disabled, only))
      |> Enum.filter(fn mod -> syntax_error == nil or line_based?(mod) end)

    findings =
      rules
      |> Enum.flat_map(fn mod ->
        params = Map.merge(default_params(mod), stringify_keys(user_params[mod.id()] || %{}))
        findings = run_rule(mod, %{ctx | params: params})

        # `.credo.exs` may override a check's base priority (`priority: :low`)
        case priority_param(params["priority"]) do
          nil -> findings
          p -> Enum.map(findings, &%{&1 | priority: p})
        end
      end)

    credo = Enum.filter(findings, &String.starts_with?(&1.rule, "Credo."))
    others = Enum.reject(findings, &String.starts_with?(&1.rule, "Credo."))

    credo =
      credo
      |> support().apply_scope_priorities(ctx)
      |> support().apply_suppressions(ctx)

    others = sobelow_skip(others, ctx)

    all =
      (credo ++ others)
      |> Enum.sort_by(fn f -> {f.line, f.column || 0, f.rule} end)

    # token and lexer caches live in the process dictionary for the duration of one request
    for {{ElixirCoder.Rules.AST, _, _} = key, _} <- Process.get(), do: Process.delete(key)

    %{"syntax_error" => syntax_error, "findings" => all}
  end

  defp rule_set(mod) do
    if String.starts_with?(Atom.to_string(mod), "Elixir.ElixirCoder.Rules.Credo."), do: "credo", else: "sobelow"
  end

  defp enabled?(mod, enabled, disabled, only) do
    id = mod.id()

    cond do
      MapSet.member?(disabled, id) -> false
      is_list(only) and binary_part(id, 0, min(6, byte_size(id))) == "Credo." -> id in only
      MapSet.member?(enabled, id) -> true
      function_exported?(mod, :default_enabled, 0) -> mod.default_enabled()
      true -> true
    end
  end

  @priority_names %{"ignore" => -100, "low" => -10, "normal" => 1, "high" => 10, "higher" => 20}

  defp priority_param(p) when is_integer(p), do: p
  defp priority_param(p) when is_binary(p), do: Map.get(@priority_names, p)
  defp priority_param(p) when is_atom(p) and p != nil, do: Map.get(@priority_names, Atom.to_string(p))
  defp priority_param(_), do: nil

  defp line_based?(mod), do: function_exported?(mod, :line_based?, 0) and mod.line_based?()

  defp default_params(mod) do
    if function_exported?(mod, :param_defaults, 0), do: stringify_keys(mod.param_defaults()), else: %{}
  end

  defp stringify_keys(map) when is_map(map), do: Map.new(map, fn {k, v} -> {to_string(k), v} end)
  defp stringify_keys(list) when is_list(list), do: list |> Map.new() |> stringify_keys()
  defp stringify_keys(_), do: %{}

  defp run_rule(mod, ctx) do
    mod.check(ctx) |> Enum.map(&normalize(&1, mod))
  rescue
    e ->
      IO.puts(:stderr, "rule #{inspect(mod)} failed: " <> Exception.format(:error, e, __STACKTRACE__))
      []
  end

  @keys [:rule, :category, :message, :line, :column, :end_line, :end_column, :trigger, :priority, :confidence,
         :variable, :fix, :scope]

  defp normalize(f, mod) do
    # rule maps may use atom or string keys; only the known keys are kept (no atoms are created)
    f = Map.new(@keys, fn k -> {k, Map.get(f, k, Map.get(f, Atom.to_string(k)))} end)
    line = f[:line] || 1
    column = f[:column]
    trigger = f[:trigger]

    end_column =
      f[:end_column] ||
        cond do
          is_integer(column) and is_binary(trigger) -> column + String.length(trigger)
          is_integer(column) -> column + 1
          true -> nil
        end

    %{
      rule: f[:rule] || mod.id(),
      category: f[:category] || (function_exported?(mod, :category, 0) && mod.category()) || nil,
      message: f[:message] || "",
      line: line,
      column: column,
      end_line: f[:end_line] || line,
      end_column: end_column,
      trigger: trigger,
      priority: f[:priority],
      confidence: f[:confidence],
      variable: f[:variable],
      fix: f[:fix],
      scope: f[:scope]
    }
  end

  defp sobelow_skip(findings, ctx) do
    mod = ElixirCoder.Rules.Sobelow.Skip

    if findings != [] and Code.ensure_loaded?(mod) and function_exported?(mod, :filter, 2) do
      mod.filter(findings, ctx)
    else
      findings
    end
  end

  # One wording for parse errors everywhere: the helper's own (prefix <> token <> suffix, positions).
  defp syntax_error(err) do
    err
    |> ElixirCoder.Helper.Parse.error_map()
    |> Map.new(fn {k, v} -> {Atom.to_string(k), v} end)
  end

  # ------------------------------------------------------------------ .credo.exs as data

  @doc "Read a .credo.exs without evaluating it: checks, enabled, disabled."
  def credo_config(%{"code" => code}) when is_binary(code) do
    case Code.string_to_quoted(code, emit_warnings: false) do
      {:ok, ast} -> {:ok, read_config(literal(ast))}
      {:error, err} -> {:error, "config_syntax", syntax_error(err)["message"]}
    end
  end

  def credo_config(_), do: {:error, "bad_request", "credo_config needs a \"code\" string"}

  defp read_config(%{} = top) do
    configs = List.wrap(top["configs"])
    config = Enum.find(configs, &(is_map(&1) and &1["name"] == "default")) || List.first(configs) || %{}
    checks = if is_map(config), do: config["checks"], else: nil

    {entries_enabled, entries_disabled, exclusive} =
      case checks do
        %{} = m ->
          {List.wrap(m["enabled"]) ++ List.wrap(m["extra"]), List.wrap(m["disabled"]), Map.has_key?(m, "enabled")}

        l when is_list(l) ->
          {l, [], false}

        _ ->
          {[], [], false}
      end

    on = for e <- entries_enabled, {id, p} <- [entry(e)], id != nil, do: {id, p}
    off = for e <- entries_disabled, {id, _} <- [entry(e)], id != nil, do: {id, false}
    all = on ++ off

    %{
      "checks" => Map.new(all),
      "enabled" => for({id, p} <- on, p != false, do: id),
      "disabled" => Enum.uniq(for({id, false} <- all, do: id)),
      "exclusive" => exclusive
    }
  end

  defp read_config(_), do: %{"checks" => %{}, "enabled" => [], "disabled" => [], "exclusive" => false}

  defp entry([id, false]) when is_binary(id), do: {id, false}
  defp entry([id, params]) when is_binary(id) and is_list(params), do: {id, kw_map(params)}
  defp entry([id, params]) when is_binary(id) and is_map(params), do: {id, params}
  defp entry(id) when is_binary(id), do: {id, %{}}
  defp entry(_), do: {nil, nil}

  defp kw_map(list) do
    for [k, v] <- list, is_binary(k), into: %{}, do: {k, v}
  end

  # AST literal -> JSON-able data; module aliases become "A.B", atoms strings, 2-tuples lists.
  defp literal({:%{}, _, kvs}), do: for({k, v} <- kvs, into: %{}, do: {key(k), literal(v)})
  defp literal({:__aliases__, _, parts}), do: Enum.map_join(parts, ".", &to_string/1)
  defp literal({:{}, _, items}), do: Enum.map(items, &literal/1)
  defp literal({:sigil_r, _, [{:<<>>, _, [src]}, _]}) when is_binary(src), do: src
  defp literal({:-, _, [n]}) when is_number(n), do: -n
  defp literal({a, b}), do: [literal(a), literal(b)]
  defp literal(list) when is_list(list), do: Enum.map(list, &literal/1)
  defp literal(b) when is_boolean(b) or is_nil(b), do: b
  defp literal(a) when is_atom(a), do: a |> Atom.to_string() |> String.replace_prefix("Elixir.", "")
  defp literal(x) when is_number(x) or is_binary(x), do: x
  defp literal(_), do: nil

  defp key(k) when is_atom(k), do: Atom.to_string(k)
  defp key(k), do: to_string(literal(k))
end
