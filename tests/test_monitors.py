"""Monitors ban exactly the continuations that complete a flagged call, and masked sampling obeys them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from grammar_soundness import build_test_tokenizer, sample_programs  # noqa: E402

from elixir_coder_lsp.inference.constraints import apply_mask  # noqa: E402
from elixir_coder_lsp.inference.monitors import MONITOR_KEYS, build_monitors  # noqa: E402

ALL_ON = {k: True for k in MONITOR_KEYS}


def _expected(mon, text: str, vocab) -> set[int]:
    """Brute force: tokens whose text makes the output violate the monitor (EOS: ending here does)."""
    out = {t for t, s in enumerate(vocab.texts) if s and not mon.allowed(text + s)}
    if not mon.allowed(text, final=True):
        out.update(vocab.eos_tokens)
    return out


TEXTS = [
    "x = String.",
    "x = String.to_",
    "x = String.to_atom",
    "x = Str",
    "y = ",
    "IO.",
    "IO.inspect",
    "x |> dbg",
    "x.dbg",
    "a = :erlang.binary_to_term(",
    "a = :erlang.binary_to_term(x",
    "a = :erlang.binary_to_term(x, [:safe]",
    "x |> :erlang.binary_to_term(",
    "&:erlang.binary_to_term/",
    "Code.eval_",
    ":os.",
    "List.to_",
]


@pytest.mark.parametrize("key", MONITOR_KEYS)
def test_ban_is_exact(mask_store, key: str) -> None:
    (mon,) = build_monitors({key: True})
    vocab = mask_store.vocab
    for text in TEXTS:
        got = set(mon.banned(text, vocab)) if mon.trigger(text) else set()
        assert got == _expected(mon, text, vocab), (key, text)


def test_string_to_atom_banned_existing_atom_allowed(mask_store) -> None:
    (mon,) = build_monitors({"stringToAtom": True})
    vocab = mask_store.vocab
    assert mon.rule_id == "Sobelow.DOS.StringToAtom"
    assert not mon.allowed("String.to_atom(x)")
    assert mon.allowed("String.to_existing_atom(x)")
    assert mon.allowed("MyString.to_atom(x)")
    banned = set(mon.banned("x = String.to_atom", vocab))
    paren = [t for t, s in enumerate(vocab.texts) if s.startswith("(")]
    assert paren and all(t in banned for t in paren)
    assert set(vocab.eos_tokens) <= banned
    # the multi-token path to `to_existing_atom` stays open at every step
    text = "x = String."
    for piece in ["to_", "existing_", "atom", "(s)"]:
        assert mon.allowed(text + piece)
        text += piece


def test_binary_to_term_arity(mask_store) -> None:
    (mon,) = build_monitors({"binaryToTerm": True})
    assert not mon.allowed(":erlang.binary_to_term(bin)")
    assert mon.allowed(":erlang.binary_to_term(bin, [:safe])")
    assert not mon.allowed("bin |> :erlang.binary_to_term()")
    assert mon.allowed("bin |> :erlang.binary_to_term([:safe])")
    assert not mon.allowed("f = &:erlang.binary_to_term/1 ")
    assert mon.allowed("f = &:erlang.binary_to_term/2 ")
    assert mon.allowed(':erlang.binary_to_term(")", [:safe])')


def test_dbg_and_io_inspect(mask_store) -> None:
    mons = {m.key: m for m in build_monitors({"dbg": True, "ioInspect": True})}
    assert not mons["dbg"].allowed("x |> dbg()")
    assert mons["dbg"].allowed("dbg_level = 1")
    assert mons["dbg"].allowed(":dbg.tracer()")
    assert not mons["ioInspect"].allowed("IO.inspect(x)")
    assert mons["ioInspect"].allowed("IO.puts(inspect(x))")


def test_monitors_name_their_rules() -> None:
    ids = {m.key: m.rule_id for m in build_monitors(ALL_ON)}
    assert ids["codeEval"] == "Sobelow.RCE.CodeModule"
    assert ids["ioInspect"] == "Credo.Check.Warning.IoInspect"
    assert ids["osCmd"] == "Sobelow.CI.OS"
    for m in build_monitors(ALL_ON):
        assert m.rule is not None and m.rule.id == m.rule_id
    assert build_monitors({"stringToAtom": False}) == []


def test_mask_and_monitor_compose(mask_store) -> None:
    tok_ids = mask_store.ll_tokenizer.tokenize_str("x = String.to_atom")
    c = mask_store.constraint("start", monitors={"stringToAtom": True})
    for t in tok_ids:
        assert c.consume(t)
    logits = torch.zeros(1, mask_store.vocab_size)
    apply_mask(logits, [c])
    allowed = torch.isfinite(logits[0]).nonzero().flatten().tolist()
    assert allowed  # identifier characters can still continue (`to_atomic`)
    assert all(mask_store.vocab.texts[t][:1].isalnum() or mask_store.vocab.texts[t][:1] in "_?!" for t in allowed)


def test_masked_sampling_never_emits_banned(mask_store) -> None:
    samples = sample_programs(build_test_tokenizer(), 24, max_tokens=48, batch_size=24, seed=5, monitors=ALL_ON)
    mons = build_monitors(ALL_ON)
    for s in samples:
        assert s["finish"] != "error", s
        for m in mons:
            assert m.allowed(s["text"], final=s["finish"] == "stop"), (m.key, s["text"])


@pytest.mark.parametrize(
    ("prefix", "target", "key"),
    [
        ("x = String.", "to_atom(s)\n", "stringToAtom"),
        ("x = ", "IO.inspect(s)\n", "ioInspect"),
        ("y = ", ":erlang.binary_to_term(b)\n", "binaryToTerm"),
        ("z = ", "Code.eval_string(s)\n", "codeEval"),
    ],
)
def test_model_pushing_for_a_banned_call_is_steered_away(mask_store, prefix: str, target: str, key: str) -> None:
    # a "model" that always prefers the token continuing the banned spelling; the mask must divert it
    vocab = mask_store.vocab
    c = mask_store.constraint("start", monitors={key: True})
    for t in mask_store.ll_tokenizer.tokenize_str(prefix):
        assert c.consume(t)
    out = ""
    for _ in range(30):
        want = target[len(out) :] if target.startswith(out) else ""
        scores = torch.tensor([float(len(s)) if s and want.startswith(s) else 0.0 for s in vocab.texts])
        logits = scores.unsqueeze(0).clone()
        apply_mask(logits, [c])
        t = int(torch.argmax(logits[0]))
        if t in vocab.eos_tokens:
            break
        assert c.consume(t), c.error
        out += vocab.texts[t]
    (mon,) = build_monitors({key: True})
    assert mon.allowed(prefix + out), out
    assert not out.startswith(target.strip())


def test_single_token_check_agrees_with_the_mask(mask_store) -> None:
    # the engine keeps a token sampled without the mask only when `allows` says so: it must agree with
    # the full mask (grammar AND monitors) on every token
    c = mask_store.constraint("start", monitors={"stringToAtom": True})
    for t in mask_store.ll_tokenizer.tokenize_str("x = String."):
        assert c.consume(t)
    logits = torch.zeros(1, mask_store.vocab_size)
    apply_mask(logits, [c])
    masked = torch.isfinite(logits[0]).tolist()
    assert [c.allows(t) for t in range(mask_store.vocab_size)] == masked
    assert not all(masked)  # the monitor bans something here
