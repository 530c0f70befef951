# Sourced by the editor test runners: the environment the real server runs in, and a scratch Mix project
# with lib/stats.ex to open. The tiny model's samples are forced, in turn, to one of two definitions of
# mean/1 that report an empty list differently ({:error, :empty} or a raise;
# editors/tests/forced_variants.py), so the clarification step sees two behaviours and asks how to
# report failures; either definition may end up in the buffer, and both start with "def mean(".
EC_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
EC_PYTHON="${ELIXIR_CODER_PYTHON:-$EC_REPO/.venv/bin/python}"
export EC_REPO EC_PYTHON
export PYTHONPATH="$EC_REPO${PYTHONPATH:+:$PYTHONPATH}"
export OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export EC_GENERATED_PREFIX="def mean("
export ELIXIR_CODER_TEST_FORCED_TEXTS='["def mean([]), do: {:error, :empty}\ndef mean(numbers), do: {:ok, Enum.sum(numbers) / length(numbers)}", "def mean([]), do: raise(ArgumentError, \"empty list\")\ndef mean(numbers), do: Enum.sum(numbers) / length(numbers)"]'
export ELIXIR_CODER_TEST_LOGITS_PROCESSOR="$EC_REPO/editors/tests/forced_variants.py:factory"
# built once per stage (.ci/editors_stage.sh exports it); a runner started alone builds or finds it here
EC_MODEL="${EC_MODEL:-$("$EC_PYTHON" "$EC_REPO/editors/tests/tiny_model.py")}"
export EC_MODEL
# The clarification flow is on main when the server handles clientUi.ask; then the question must come.
if grep -q '"elixirCoder/ask"' "${EC_SERVER_SRC:-$EC_REPO}"/elixir_coder_lsp/lsp/*.py 2>/dev/null; then export EC_EXPECT_ASK=1; else export EC_EXPECT_ASK=0; fi

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
