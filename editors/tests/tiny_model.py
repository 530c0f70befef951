"""Prints the path of a tiny random model for the editor tests, building it on first use (cached).

The editors' tests pass it as `models.default.checkpoint`, and force what it samples with the test-only
logits processor editors/tests/forced_variants.py (ELIXIR_CODER_TEST_LOGITS_PROCESSOR), so the generated
code is known in advance while the whole serving path is the real one.

    python editors/tests/tiny_model.py [DIR]     (default: .cache/editor-tests/tiny-model)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from elixir_coder_lsp.inference.tiny_model import build_tiny_checkpoint  # noqa: E402

if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / ".cache" / "editor-tests" / "tiny-model"
    print(build_tiny_checkpoint(out))
