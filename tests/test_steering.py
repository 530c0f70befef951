"""Steering and close-out: closing-mass transfer, budget pull, identifier `end`s, shortest valid endings."""

from __future__ import annotations

import math

import pytest
import torch

from elixir_coder_lsp.inference import closing, steering
from elixir_coder_lsp.inference import constraints as C
from elixir_coder_lsp.inference.closing import OpenCount

NEG = float("-inf")
TEXTS = ["a", ")", "]", " end", "end", "x"]  # a toy vocabulary for the pure tensor functions


def test_closing_tokens_are_brackets_and_end_only() -> None:
    assert [steering.is_closing(t) for t in TEXTS] == [False, True, True, True, True, False]
    assert steering.is_closing("\n  end") and steering.is_closing("))") and steering.is_closing("end)")
    assert not steering.is_closing("ending") and not steering.is_closing('"') and not steering.is_closing("\n")
    assert steering.end_tokens(TEXTS) == [3, 4]


def test_transfer_moves_banned_closing_mass_to_allowed_closers() -> None:
    closing_mask = steering.closing_mask(TEXTS)
    raw = torch.log(torch.tensor([0.1, 0.01, 0.02, 0.8, 0.0001, 0.0699]))
    masked = raw.clone()
    masked[3] = NEG  # the model wants ` end`, the grammar needs `)` or `]`
    masked[4] = NEG
    assert steering.banned_closing_share(raw, masked, closing_mask) == pytest.approx(0.8001, rel=1e-3)
    assert steering.transfer_closing_mass(raw, masked, closing_mask)
    p = torch.softmax(masked, dim=0)
    # the closers now carry the closing mass, in the model's own 1:2 ratio; the rest keeps its ratios
    assert float(p[1] + p[2]) == pytest.approx(0.8301 / 1.0, rel=1e-2)
    assert float(p[2] / p[1]) == pytest.approx(2.0, rel=1e-4)
    assert float(p[0] / p[5]) == pytest.approx(0.1 / 0.0699, rel=1e-4)


def test_transfer_leaves_rows_alone_below_the_threshold_or_without_allowed_closers() -> None:
    closing_mask = steering.closing_mask(TEXTS)
    raw = torch.log(torch.tensor([0.985, 0.001, 0.001, 0.01, 0.001, 0.002]))
    masked = raw.clone()
    masked[3] = NEG
    before = masked.clone()
    assert not steering.transfer_closing_mass(raw, masked, closing_mask)  # 1% is noise, not intent
    assert torch.equal(masked, before)
    raw = torch.log(torch.tensor([0.1, 0.1, 0.1, 0.5, 0.1, 0.1]))
    masked = raw.clone()
    masked[1:5] = NEG
    assert not steering.transfer_closing_mass(raw, masked, closing_mask)


def test_identifier_ends_are_banned_keyword_ends_kept() -> None:
    masked = torch.zeros(len(TEXTS))
    steering.ban_identifier_ends(masked, [3, 4], lambda tid: tid == 3)
    assert math.isinf(float(masked[4])) and float(masked[3]) == 0.0


def test_budget_pull_grows_from_zero_to_full() -> None:
    assert steering.pull_strength(50, 100) == 0.0
    assert steering.pull_strength(100, 100) == pytest.approx(1.0)
    assert 0 < steering.pull_strength(80, 100) < 1
    logits = torch.zeros(len(TEXTS))
    steering.budget_pull(logits, 1.0, steering.closing_mask(TEXTS), [0])
    assert float(logits[1]) == steering.PULL_CLOSE and float(logits[0]) == steering.PULL_EOS and float(logits[5]) == 0.0


def test_a_row_inside_a_comment_is_pulled_to_a_line_end() -> None:
    texts = TEXTS + ["\n", "\n  ", "#"]
    closers, line_ends = steering.closing_mask(texts), steering.line_end_mask(texts)
    assert line_ends.tolist() == [False] * 6 + [True, True, False]
    logits = torch.zeros(2, len(texts))
    steering.budget_pull_rows(logits, [1.0, 1.0], closers, [0], line_ends, [False, True])
    plain, comment = logits.tolist()
    assert plain[1] == plain[3] == steering.PULL_CLOSE and plain[6] == plain[7] == 0.0  # closers, as before
    assert comment[1] == comment[3] == 0.0 and comment[6] == comment[7] == steering.PULL_CLOSE  # `)` there is comment text
    assert plain[0] == comment[0] == steering.PULL_EOS
    assert closing.in_comment("x = f(1) # note )") and not closing.in_comment("# note\nx = f(")
    assert not closing.in_comment('x = "a # b"') and closing.in_comment("foo(\n  # end end")


def test_open_count_tracks_brackets_blocks_strings_and_comments() -> None:
    state = OpenCount().feed('def f(x) do\n  [1, {"a)", ')
    assert state.remaining() == 3  # do, [, {
    assert state.feed("}]\nend").remaining() == 0
    assert OpenCount().feed("x = fn a -> a end").remaining() == 0
    assert OpenCount().feed('s = "open').remaining() == 1
    assert OpenCount().feed("x # (((").remaining() == 1  # inside the comment: a newline closes it
    assert OpenCount().feed("[do: 1]").remaining() == 0  # `do:` opens no block


# ---- close-out through the real grammar matcher


@pytest.fixture(scope="module")
def skeleton(bpe_tokenizer):
    return closing.skeleton_tokens(bpe_tokenizer.batch_decode([[i] for i in range(len(bpe_tokenizer))]))


@pytest.mark.parametrize(
    "prefix",
    [
        "def f(x) do\n  y = [1, {2, ",
        'def f(x) do\n  y = "abc',
        "def f(x) do\n  x |>",
        "case x do\n  {:ok, y",
        "Enum.map(xs, fn x ->",
        "def f(x), do: g(",
    ],
)
def test_close_out_finds_a_valid_ending(bpe_tokenizer, mask_store, skeleton, prefix: str) -> None:
    c = mask_store.constraint("start")
    for t in bpe_tokenizer(prefix, add_special_tokens=False).input_ids:
        assert c.consume(t), c.error
    before = c.text
    path = closing.close_out(c, skeleton)
    assert path, "no ending found"
    assert c.text == before and not c.matcher.is_accepting()  # the search leaves the constraint as it was
    for t in path:
        assert c.consume(t), c.error
    assert c.can_stop()
    assert C.check_text(c.text).accepted


def test_close_out_on_a_complete_program_is_empty(bpe_tokenizer, mask_store, skeleton) -> None:
    c = mask_store.constraint("start")
    for t in bpe_tokenizer("x = 1\n", add_special_tokens=False).input_ids:
        c.consume(t)
    assert closing.close_out(c, skeleton) == []


def test_overlong_words_are_spotted() -> None:
    assert steering.word_too_long("x = " + "a_" * 40)
    assert not steering.word_too_long("x = " + "a_" * 20)
    assert not steering.word_too_long("a_" * 40 + " ")
    assert steering.word_start_mask(["ab", "_x", " y", ")", ""]).tolist() == [True, True, False, False, False]


def test_rows_are_steered_together_as_each_would_be_alone() -> None:
    closing_mask = steering.closing_mask(TEXTS)
    raw = torch.log(torch.tensor([[0.1, 0.01, 0.02, 0.8, 0.0001, 0.0699],  # wants a banned ` end`: steered
                                  [0.985, 0.001, 0.001, 0.01, 0.001, 0.002],  # 1%: left alone
                                  [0.5, 0.1, 0.1, 0.1, 0.1, 0.1]]))  # budget nearly spent: pulled
    masked = raw.clone()
    masked[:, 3] = NEG
    masked[0, 4] = NEG
    strengths = [0.0, 0.0, 0.5]
    expected = masked.clone()
    for r in range(3):
        if strengths[r] > 0 or steering.banned_closing_share(raw[r], expected[r], closing_mask) >= steering.TRANSFER_MIN:
            steering.ban_identifier_ends(expected[r], [3, 4], lambda tid: False)
            steering.transfer_closing_mass(raw[r], expected[r], closing_mask)
            steering.budget_pull(expected[r], strengths[r], closing_mask, [0])
    out = steering.steer_rows(raw, masked, strengths, [lambda tid: False] * 3, closing_mask, [3, 4], [0])
    assert torch.equal(out, expected) and torch.equal(out[1], raw[1].masked_fill(torch.arange(6) == 3, NEG))
    assert math.isinf(float(out[2, 4]))  # the pulled row's identifier `end` is banned too
