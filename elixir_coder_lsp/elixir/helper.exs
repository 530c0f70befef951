# Elixir helper for elixir-coder-lsp: a long-lived BEAM process that answers JSON-lines requests.
#
# Protocol (one JSON object per line on stdin, one per line on stdout):
#   request  {"id": 1, "op": "parse", "args": {...}, "timeout_ms": 10000}
#   response {"id": 1, "ok": true, "result": ..., "atoms": [count, limit]}
#            {"id": 1, "ok": false, "error": {"kind": "...", "message": "..."}, "atoms": [count, limit]}
#   hello    {"id": null, "ok": true, "result": {"ready": true, ...}} once, when the boot is over
# Error kinds: bad_request, unknown_op, invalid_input, too_large, too_nested, timeout, recycle
# (atom table nearly full: start a fresh helper), syntax_error, internal; rules may add more.
# Every request runs in its own process (heap and time limited), so responses may arrive out of
# order. Stdout carries protocol lines only; logs go to stderr. EOF on stdin halts the VM.
#
# Layout: the helper's own modules live in helper/*.exs (loaded in name order); this file loads them and
# runs the server. Extensions: every rules/*.exs next to this file is loaded at start; a module exporting
# __helper_ops__/0 (%{"op" => fun/1}) adds ops. Each fun takes the args map (string keys) and
# returns {:ok, term} or {:error, kind, message}. Args with a "code" string are checked first
# (size, UTF-8, nesting), so ops receive valid input. Useful from rules:
# ElixirCoder.Helper.Parse.string_to_quoted/1 (errors as maps), ElixirCoder.Helper.Summary.summarize/1,
# ElixirCoder.JSON.encode!/1 and decode/1. Rules files should only define modules: their compiled
# modules are cached (ELIXIR_CODER_HELPER_RULES_CACHE), so top-level side effects run only once.

# The client precompiles helper/*.exs with `elixirc` into a cache, so later starts skip compilation and
# call Server.main/1 directly; run as a script, this file compiles them first.
# (ELIXIR_CODER_HELPER_COMPILE_ONLY=1 keeps a compile of this file from starting the server.)
if System.get_env("ELIXIR_CODER_HELPER_COMPILE_ONLY") != "1" do
  __DIR__
  |> Path.join("helper/*.exs")
  |> Path.wildcard()
  |> Enum.sort()
  |> Enum.each(&Code.require_file/1)

  ElixirCoder.Helper.Server.main(__DIR__)
end
