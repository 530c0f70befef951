"""Test-only logits processor: every sequence the tiny model samples spells out one fixed text, then EOS.

Loaded in the model worker through ELIXIR_CODER_TEST_LOGITS_PROCESSOR="<this file>:factory"; the text
comes from ELIXIR_CODER_TEST_FORCED_TEXT. The model still runs its forward passes; only the logits
are rewritten, so the whole serving path (prompt, batching, sampling, decoding) is the real one.
"""

from __future__ import annotations

import os
from typing import Any

TEXT_ENV = "ELIXIR_CODER_TEST_FORCED_TEXT"


class ForceText:
    """Per sequence id: the i-th sampled token is forced to the text's i-th token, then EOS."""

    def __init__(self, token_ids: list[int], eos_id: int) -> None:
        self.ids = token_ids + [eos_id]
        self.step: dict[int, int] = {}

    def _force(self, seq_ids: list[int], logits: Any) -> Any:
        for row, sid in enumerate(seq_ids):
            i = min(self.step.get(sid, 0), len(self.ids) - 1)
            logits[row, :] = float("-inf")
            logits[row, self.ids[i]] = 0.0
        return logits

    def prefill(self, seq_ids: list[int], logits: Any) -> Any:
        for sid in seq_ids:
            self.step[sid] = 0
        return self._force(seq_ids, logits)

    def decode(self, seq_ids: list[int], logits: Any) -> Any:
        for sid in seq_ids:
            self.step[sid] = self.step.get(sid, 0) + 1
        return self._force(seq_ids, logits)


def factory(model: Any) -> ForceText:
    """Build the processor for the worker's model (its tokenizer is read from the checkpoint dir)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model.config._name_or_path, local_files_only=True)
    ids = tok(os.environ[TEXT_ENV], add_special_tokens=False).input_ids
    return ForceText(list(ids), int(tok.eos_token_id))
