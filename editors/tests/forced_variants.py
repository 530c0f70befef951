"""Test-only logits processor for the editor tests: each new sequence spells one of a few fixed texts.

Like tests/e2e/forced_paragraph.py, but the texts (a JSON list in ELIXIR_CODER_TEST_FORCED_TEXTS) are
dealt to sequences in turn, so the samples of one request disagree, the clarification step finds more
than one behaviour cluster, and (with the editors' forced thresholds) the server asks a question. The
model still runs its forward passes; only the logits are rewritten.

Loaded in the model worker through ELIXIR_CODER_TEST_LOGITS_PROCESSOR="<this file>:factory".
"""

from __future__ import annotations

import json
import os
from typing import Any

TEXTS_ENV = "ELIXIR_CODER_TEST_FORCED_TEXTS"


class ForceVariants:
    """The n-th sequence ever prefilled spells text n mod len(texts), then EOS."""

    def __init__(self, variants: list[list[int]], eos_id: int) -> None:
        self.variants = [ids + [eos_id] for ids in variants]
        self.count = 0
        self.ids: dict[int, list[int]] = {}
        self.step: dict[int, int] = {}

    def _force(self, seq_ids: list[int], logits: Any) -> Any:
        for row, sid in enumerate(seq_ids):
            ids = self.ids[sid]
            i = min(self.step[sid], len(ids) - 1)
            logits[row, :] = float("-inf")
            logits[row, ids[i]] = 0.0
        return logits

    def prefill(self, seq_ids: list[int], logits: Any) -> Any:
        for sid in seq_ids:
            self.ids[sid] = self.variants[self.count % len(self.variants)]
            self.count += 1
            self.step[sid] = 0
        return self._force(seq_ids, logits)

    def decode(self, seq_ids: list[int], logits: Any) -> Any:
        for sid in seq_ids:
            self.step[sid] += 1
        return self._force(seq_ids, logits)


def factory(model: Any) -> ForceVariants:
    """Build the processor for the worker's model (its tokenizer is read from the checkpoint dir)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model.config._name_or_path, local_files_only=True)
    texts = json.loads(os.environ[TEXTS_ENV])
    return ForceVariants([list(tok(t, add_special_tokens=False).input_ids) for t in texts], int(tok.eos_token_id))
