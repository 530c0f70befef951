"""Soundness: programs sampled from the grammar through the real masking path all parse in Elixir.

2,000 samples with a seeded random "model" over a small byte-level BPE, batched masks (apply_mask) and
SequenceConstraint.consume; every completed sample is parsed by the session's Elixir helper.
The larger run: `python bench/grammar_soundness.py --n 20000`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from grammar_soundness import build_test_tokenizer, sample_programs  # noqa: E402

N_SAMPLES = 2000


@pytest.mark.parametrize(("rule", "n", "seed"), [("start", N_SAMPLES, 11)])
def test_sampled_programs_parse(helper, rule: str, n: int, seed: int) -> None:
    samples = sample_programs(build_test_tokenizer(), n, entry_rule=rule, max_tokens=64, batch_size=100, seed=seed)
    assert len(samples) == n
    assert not [s for s in samples if s["finish"] == "error"], "a masked token was rejected by its matcher"
    done = [s["text"] for s in samples if s["finish"] == "stop"]
    assert len(done) >= n // 3, f"only {len(done)} of {n} samples completed"
    failures = [(t, r) for t in done if not (r := helper.parse(t)).ok]
    assert not failures, f"{len(failures)} accepted programs do not parse, e.g. {failures[0][0]!r}: {failures[0][1]}"


@pytest.mark.parametrize("rule", ["module_body", "expr_seq"])
def test_other_entry_rules_sample_parse(helper, rule: str) -> None:
    samples = sample_programs(build_test_tokenizer(), 200, entry_rule=rule, max_tokens=64, batch_size=100, seed=3)
    done = [s["text"] for s in samples if s["finish"] == "stop"]
    assert done
    bad = [t for t in done if not helper.parse(t).ok]
    assert not bad, bad[:3]
