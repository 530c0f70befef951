# Sobelow Traversal.* rules: file paths built from variables.

defmodule ElixirCoder.Rules.Sobelow.Traversal.FileModule do
  @moduledoc "Mirrors Sobelow Traversal.FileModule: a `File` function's path argument holds a variable."
  alias ElixirCoder.Rules.Sobelow.Support

  @file_funs [
    :read,
    :read!,
    :write,
    :write!,
    :rm,
    :rm!,
    :rm_rf,
    :open,
    :open!,
    :chmod,
    :chmod!,
    :chown,
    :chown!,
    :mkdir,
    :mkdir!,
    :mkdir_p,
    :mkdir_p!
  ]
  # Two-path functions: both the source (argument 0) and the destination (argument 1) count.
  @double_funs [:cp, :copy, :cp!, :copy!, :cp_r, :cp_r!, :ln, :ln!, :ln_s, :ln_s!]

  @doc "Rule id."
  def id, do: "Sobelow.Traversal.FileModule"

  @doc "Findings for one parsed file (ctx from the engine)."
  def check(ctx) do
    specs =
      for(f <- @file_funs ++ @double_funs, do: {0, f, [:File], message(f)}) ++
        for(f <- @double_funs, do: {1, f, [:File], message(f)})

    Support.standard(ctx, id(), :controller, specs)
  end

  defp message(f), do: "Directory Traversal in `File.#{f}`"
end

defmodule ElixirCoder.Rules.Sobelow.Traversal.SendFile do
  @moduledoc "Mirrors Sobelow Traversal.SendFile: the path (3rd argument) of `send_file` holds a variable."
  alias ElixirCoder.Rules.Sobelow.Support

  @doc "Rule id."
  def id, do: "Sobelow.Traversal.SendFile"

  @doc "Findings for one parsed file (ctx from the engine)."
  def check(ctx) do
    Support.standard(ctx, id(), :controller, [
      {2, :send_file, :Conn, "Directory Traversal in `send_file`"}
    ])
  end
end

defmodule ElixirCoder.Rules.Sobelow.Traversal.SendDownload do
  @moduledoc "Mirrors Sobelow Traversal.SendDownload: `send_download(conn, {:file, path})` with a variable path."
  alias ElixirCoder.Rules.Sobelow.Support

  @doc "Rule id."
  def id, do: "Sobelow.Traversal.SendDownload"

  @doc "Findings for one parsed file (ctx from the engine)."
  def check(ctx) do
    spec = [{1, :send_download, :Controller, "Directory Traversal in `send_download`"}]

    Support.standard(ctx, id(), :controller, spec, fn call, f, _ ->
      if binary_download?(call), do: nil, else: f
    end)
  end

  # `{:binary, data}` downloads send bytes from memory, not a file: Sobelow ignores them.
  defp binary_download?({:send_download, _, opts}), do: binary_opts?(opts)
  defp binary_download?({{:., _, [{_, _, _}, :send_download]}, _, opts}), do: binary_opts?(opts)
  defp binary_download?(_), do: false

  defp binary_opts?([_, {:binary, _}, _]), do: true
  defp binary_opts?([_, {:binary, _}]), do: true
  defp binary_opts?([{:binary, _}]), do: true
  defp binary_opts?([{:binary, _}, _]), do: true
  defp binary_opts?(_), do: false
end
