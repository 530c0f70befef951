"""Constraints: mask store caching, batched masks, consume/stop semantics, extra rules."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from grammar_soundness import build_test_tokenizer  # noqa: E402

from elixir_coder_lsp.inference import constraints as C  # noqa: E402


def _ids(bpe_tokenizer, text: str) -> list[int]:
    return bpe_tokenizer(text, add_special_tokens=False).input_ids


def test_store_is_cached_per_tokenizer(bpe_tokenizer, mask_store) -> None:
    assert C.build_mask_store(bpe_tokenizer) is mask_store
    other = build_test_tokenizer()
    assert C.build_mask_store(other) is not mask_store


def test_consume_valid_program_and_stop(bpe_tokenizer, mask_store) -> None:
    c = mask_store.constraint("start")
    for t in _ids(bpe_tokenizer, "def f(x), do: x + 1\n"):
        assert c.consume(t), c.error
    assert c.can_stop() and c.error is None
    assert c.consume(mask_store.eos_tokens[0])
    assert c.is_finished()


def test_rejected_token_puts_constraint_in_error(bpe_tokenizer, mask_store) -> None:
    c = mask_store.constraint("start")
    ids = _ids(bpe_tokenizer, "x = )")
    ok = [c.consume(t) for t in ids]
    assert ok[-1] is False and c.error
    assert c.is_finished() and not c.can_stop()
    assert c.consume(ids[0]) is False  # stays in error


def test_apply_mask_rows_and_padding(bpe_tokenizer, mask_store) -> None:
    v = mask_store.vocab_size + 13  # models often pad the embedding matrix
    logits = torch.zeros(3, v)
    c0 = mask_store.constraint("start")
    c2 = mask_store.constraint("start")
    for t in _ids(bpe_tokenizer, "x = "):
        assert c2.consume(t)
    C.apply_mask(logits, [c0, None, c2])
    assert torch.all(logits[1] == 0)  # unconstrained row untouched
    assert torch.all(torch.isinf(logits[0, mask_store.vocab_size :]))  # padding banned
    allowed0 = torch.isfinite(logits[0]).nonzero().flatten().tolist()
    assert allowed0 and len(allowed0) < mask_store.vocab_size
    # every allowed token is accepted by the matcher, a banned one is rejected
    for t in allowed0[:50]:
        probe = mask_store.constraint("start")
        assert probe.consume(t), mask_store.vocab.texts[t]
    # after `x = ` the statement is incomplete: EOS is not allowed
    assert not torch.isfinite(logits[2, mask_store.eos_tokens[0]])
    assert torch.isfinite(logits[2]).any()


def test_apply_mask_rejects_shape_mismatch(mask_store) -> None:
    with pytest.raises(ValueError):
        C.apply_mask(torch.zeros(2, mask_store.vocab_size), [None])


def test_entry_rules_compile_once(mask_store) -> None:
    for rule in C.ENTRY_RULES:
        mask_store.constraint(rule)
    before = dict(mask_store.compile_seconds)
    for rule in C.ENTRY_RULES:
        mask_store.constraint(rule)
    assert mask_store.compile_seconds == before
    assert {k[0] for k in before} >= set(C.ENTRY_RULES)


def test_first_mask_comes_with_the_copy(bpe_tokenizer, mask_store) -> None:
    # the pristine matcher computed its first mask once; each fresh constraint carries it: bit for bit
    # what a matcher compiled without that warm-up computes
    fresh = C.llg.LLMatcher(mask_store.ll_tokenizer, C.grammar_text("start"), log_level=0, limits=C._limits())
    expected = C.fill_bitmask([C.SequenceConstraint(mask_store, fresh, [])], mask_store.vocab_size)
    for _ in range(2):
        assert torch.equal(C.fill_bitmask([mask_store.constraint("start")], mask_store.vocab_size), expected)
    c = mask_store.constraint("start")
    ids = _ids(bpe_tokenizer, "x = 1")
    assert all(c.consume(t) for t in ids)
    assert not torch.equal(C.fill_bitmask([c], mask_store.vocab_size), expected)


def test_a_first_mask_over_the_item_limit_is_left_to_each_request(mask_store, monkeypatch) -> None:
    # with an item limit the first step exceeds, warming the pristine matcher would put every copy in error
    monkeypatch.setattr(C, "STEP_MAX_ITEMS", 10)
    store = C.MaskStore(mask_store.ll_tokenizer)
    c = store.constraint("start")
    assert not c.matcher.is_error()  # a fresh request starts clean, and meets the limit at its own first mask
    C.fill_bitmask([c], store.vocab_size)
    assert c.matcher.is_error()


def test_extra_rules_extend_the_grammar(bpe_tokenizer, mask_store) -> None:
    # extra rules may bring their own entry point built from base rules: here, calls to names in scope
    extra = 'start: scoped\nscoped: ("alpha" | "beta") LPAREN expr_np RPAREN'
    c = mask_store.constraint("start", extra_rules=extra)
    assert all(c.consume(t) for t in _ids(bpe_tokenizer, "alpha(x + 1)")) and c.can_stop()
    c = mask_store.constraint("start", extra_rules=extra)
    assert not all(c.consume(t) for t in _ids(bpe_tokenizer, "gamma(x)"))
    assert ("start", extra) in mask_store.compile_seconds
    # compiled once per distinct extra text
    n = len(mask_store.compile_seconds)
    mask_store.constraint("start", extra_rules=extra)
    assert len(mask_store.compile_seconds) == n
    # plain appended rules leave the base entry point in place
    assert C.grammar_text("start", 'scope_name: "alpha"').startswith("%llguidance {}")
    assert "start: source_file" in C.grammar_text("start", 'scope_name: "alpha"')


def test_module_body_rule_limits_items(bpe_tokenizer, mask_store) -> None:
    c = mask_store.constraint("module_body")
    ok = all(c.consume(t) for t in _ids(bpe_tokenizer, "def f(x), do: x\n"))
    assert ok and c.can_stop()


def test_fill_bitmask_equals_llguidance_torch(bpe_tokenizer, mask_store) -> None:
    from llguidance.torch import fill_next_token_bitmask_par

    rows = [mask_store.constraint("start") for _ in range(4)]
    for c, text in zip(rows, ["", "x = ", "def f(x", "case x do\n  {:ok, "]):
        for t in _ids(bpe_tokenizer, text):
            assert c.consume(t), c.error
    want = torch.full((5, C.bitmask_words(mask_store.vocab_size)), -1, dtype=torch.int32)
    fill_next_token_bitmask_par(C._get_executor(), [(c.matcher, i) for i, c in enumerate(rows)], want)
    assert torch.equal(C.fill_bitmask([*rows, None], mask_store.vocab_size), want)


def test_masks_do_not_import_torch_dynamo(tiny_model_dir) -> None:
    # importing llguidance.torch sets up torch.compile for a kernel (~1 s): that import used to land in the
    # worker's first full mask
    import subprocess

    code = (
        "import sys\nfrom transformers import AutoTokenizer\n"
        "from elixir_coder_lsp.inference import constraints as C\n"
        f"store = C.build_mask_store(AutoTokenizer.from_pretrained({str(tiny_model_dir)!r}))\n"
        "c = store.constraint('start')\nC.fill_bitmask([c], store.vocab_size)\n"
        "p = C.MaskPrefetch(store.vocab_size)\np.add([(0, c)])\np.finish(wait_all=True)\n"
        "print(sorted(m for m in ('torch._dynamo', 'llguidance.torch') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout.strip().splitlines()[-1] == "[]"
