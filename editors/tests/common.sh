# Sourced by the editor test runners: the environment the real server runs in (a tiny model whose
# samples are forced to $EC_GENERATED), and a scratch Mix project with lib/stats.ex to open.
EC_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
EC_PYTHON="${ELIXIR_CODER_PYTHON:-$EC_REPO/.venv/bin/python}"
export EC_REPO EC_PYTHON
export PYTHONPATH="$EC_REPO${PYTHONPATH:+:$PYTHONPATH}"
export OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export EC_GENERATED="def mean(numbers), do: Enum.sum(numbers) / length(numbers)"
export ELIXIR_CODER_TEST_LOGITS_PROCESSOR="$EC_REPO/tests/e2e/forced_paragraph.py:factory"
export ELIXIR_CODER_TEST_FORCED_TEXT="$EC_GENERATED"
EC_MODEL="$("$EC_PYTHON" "$EC_REPO/editors/tests/tiny_model.py")"
export EC_MODEL
# The clarification flow is on main when the server handles clientUi.ask; then the question must come.
if grep -q '"elixirCoder/ask"' "$EC_REPO"/elixir_coder_lsp/lsp/*.py 2>/dev/null; then export EC_EXPECT_ASK=1; else export EC_EXPECT_ASK=0; fi

ec_workdir() {
  local dir
  dir="$(mktemp -d "${TMPDIR:-/tmp}/elixir-coder-editor-test.XXXXXX")"
  mkdir -p "$dir/lib"
  printf 'defmodule Stats.MixProject do\n  use Mix.Project\n  def project, do: [app: :stats, version: "0.1.0"]\nend\n' > "$dir/mix.exs"
  printf '%s\n' \
    'defmodule Stats do' \
    '  # TODO: return the mean of a list of numbers' \
    '' \
    '  def total(items) do' \
    '    IO.inspect(items)' \
    '    Enum.sum(items)' \
    '  end' \
    'end' > "$dir/lib/stats.ex"
  echo "$dir"
}
