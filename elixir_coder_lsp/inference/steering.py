"""Steering constrained samples towards finishing: closing-mass transfer and the budget-aware pull.

A grammar mask keeps every sample valid, but a small model that loses track of its brackets keeps
trying to close the wrong one (`end` where a `)` is still open). The mask bans that token and the
sample wanders off. Two corrections, applied to the masked logits of constrained rows only:

- **closing-mass transfer**: the probability the model puts on closing tokens the grammar bans
  (`)`, `]`, `}`, `end` and their runs) moves to the closing tokens it allows, in proportion to the
  model's own preference among those. "I want to close something" becomes "close what is open".
- **budget pull**: in the last part of its token budget a sample is pulled towards closing tokens and
  EOS (EOS is allowed only where the grammar is complete), so it finishes instead of being truncated.

While either applies, an `end` token the grammar allows only as part of an identifier (`stateend`,
`endless`) is banned: there the model means the keyword, and the identifier path derails the sample.

Pure tensor functions; the engine decides which rows they apply to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

# share of the row's probability on banned closers below which nothing moves (noise, not intent)
TRANSFER_MIN = 0.02
PULL_FROM = 0.6  # share of the budget after which the pull starts, growing linearly to the end
PULL_CLOSE = 6.0  # logit bonus for closing tokens at the very end of the budget
PULL_EOS = 12.0  # logit bonus for EOS at the very end of the budget
# a word (identifier, atom, alias) this long may not grow: a small model can loop on `_to_list_to_...`
LONG_WORD = 64
WORD_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
IDENT_CHARS = WORD_CHARS + "?!"  # `?` and `!` may end an identifier


def is_closing(text: str) -> bool:
    """Whether a token's text only closes constructs: closing brackets and `end` (with spacing)."""
    core = text.strip()
    return bool(core) and all(c in ")]}" for c in core.replace("end", ""))


def closing_mask(texts: Sequence[str]) -> torch.Tensor:
    """A bool vector over the vocabulary: True for closing tokens.

    Quotes and newlines are left out: a quote opens strings as often as it closes them, and newlines
    inside strings and heredocs close nothing.
    """
    return torch.tensor([is_closing(t) for t in texts], dtype=torch.bool)


def word_start_mask(texts: Sequence[str]) -> torch.Tensor:
    """A bool vector over the vocabulary: True for tokens that would extend a word they follow."""
    return torch.tensor([bool(t) and t[0] in WORD_CHARS for t in texts], dtype=torch.bool)


def word_too_long(tail: str) -> bool:
    """Whether the text ends in a word of LONG_WORD characters or more (``tail``: the text's last characters)."""
    return len(tail) - len(tail.rstrip(WORD_CHARS)) >= LONG_WORD


def line_end_mask(texts: Sequence[str]) -> torch.Tensor:
    """A bool vector over the vocabulary: True for tokens of blanks that hold a line end (`\\n`, `\\n    `)."""
    return torch.tensor([bool(t) and not t.strip() and "\n" in t for t in texts], dtype=torch.bool)


def end_tokens(texts: Sequence[str]) -> list[int]:
    """Ids of closing tokens that contain the word `end` (allowed by a mask also as an identifier's start)."""
    return [i for i, t in enumerate(texts) if is_closing(t) and "end" in t]


@dataclass(frozen=True)
class ClosingProbs:
    """The rows' raw probabilities of the closing tokens only (``ids``: their columns), in float64: an
    allowed closer's share may be far below float32's range, and the transfer divides by it. Steering
    reads nothing else of the distribution, so a step works on [R, closers] instead of [R, vocabulary]."""

    probs: torch.Tensor
    ids: torch.Tensor

    def select(self, rows: torch.Tensor) -> ClosingProbs:
        """The same for a subset of the rows."""
        return ClosingProbs(self.probs.index_select(0, rows), self.ids)


def closing_probs(raw: torch.Tensor, masked: torch.Tensor, closing: torch.Tensor) -> ClosingProbs:
    """The rows' raw probabilities of the closing tokens among the columns all three tensors share."""
    width = min(raw.shape[1], masked.shape[1], closing.shape[0])
    ids = closing[:width].nonzero().squeeze(1).to(raw.device)
    return ClosingProbs(torch.softmax(raw[:, :width].to(torch.float64), dim=1).index_select(1, ids), ids)


def closing_shares(probs: ClosingProbs, masked: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row: the probability share on closing tokens the mask bans, and on those it allows.

    ``masked`` are the rows' logits after the grammar mask (-inf = banned). All rows at once: the engine
    steers every refused row of a step, and a loop over them cost ~0.1 ms per row.
    """
    neg = torch.isneginf(masked.index_select(1, probs.ids))
    zero = torch.zeros((), dtype=probs.probs.dtype, device=probs.probs.device)
    return torch.where(neg, probs.probs, zero).sum(dim=1), torch.where(neg, zero, probs.probs).sum(dim=1)


def banned_closing_share(raw: torch.Tensor, masked: torch.Tensor, closing: torch.Tensor) -> float:
    """The share of one row's (raw) probability on closing tokens the mask bans."""
    raw, masked = raw[None], masked[None]
    return float(closing_shares(closing_probs(raw, masked, closing), masked)[0][0])


def ban_identifier_ends(masked: torch.Tensor, end_tokens: Sequence[int], end_is_keyword: Callable[[int], bool]) -> None:
    """In place on one row: ban the `end` tokens the mask allows only as the start of an identifier."""
    ban_identifier_ends_rows(masked[None], end_tokens, [end_is_keyword])


def ban_identifier_ends_rows(
    masked: torch.Tensor, end_tokens: Sequence[int], end_is_keyword: Sequence[Callable[[int], bool]]
) -> bool:
    """In place on [R, V] rows: ban_identifier_ends with each row's check; whether any token was banned."""
    ids = [tid for tid in end_tokens if tid < masked.shape[1]]
    if not ids:
        return False
    allowed = (~torch.isneginf(masked[:, ids])).tolist()  # one gather for all rows; most rows allow none
    banned = False
    for row, (row_allowed, is_keyword) in enumerate(zip(allowed, end_is_keyword)):
        ban = [tid for tid, ok in zip(ids, row_allowed) if ok and not is_keyword(tid)]
        if ban:
            masked[row, ban] = float("-inf")
            banned = True
    return banned


def transfer_closing_mass_rows(
    probs: ClosingProbs, masked: torch.Tensor, shares: tuple[torch.Tensor, torch.Tensor] | None = None
) -> list[bool]:
    """In place on [R, V] rows: move the mass of banned closing tokens onto the allowed ones.

    ``probs`` are the rows' closing probabilities (closing_probs), ``masked`` their logits after the
    grammar mask (-inf = banned); ``shares`` are closing_shares of these rows when the caller has them
    already. Nothing moves in a row below TRANSFER_MIN or without an allowed closing token. Returns, per
    row, whether anything moved.
    """
    p_banned, p_allowed = shares if shares is not None else closing_shares(probs, masked)
    allowed = ~torch.isneginf(masked.index_select(1, probs.ids))
    moved = (p_banned >= TRANSFER_MIN) & allowed.any(dim=1)
    if bool(moved.any()):
        # scale the allowed closers so that together they carry both masses; the model's ranking among
        # them is kept, however small their own share was
        bonus = torch.log1p(p_banned / p_allowed.clamp_min(1e-30)).to(masked.dtype)
        lift = torch.where(allowed & moved[:, None], bonus[:, None], torch.zeros((), dtype=masked.dtype, device=masked.device))
        masked.index_copy_(1, probs.ids, masked.index_select(1, probs.ids) + lift)
    return moved.tolist()


def transfer_closing_mass(raw: torch.Tensor, masked: torch.Tensor, closing: torch.Tensor) -> bool:
    """In place on one row: move the mass of banned closing tokens onto the allowed ones (see transfer_closing_mass_rows)."""
    raw, masked = raw[None], masked[None]
    return transfer_closing_mass_rows(closing_probs(raw, masked, closing), masked)[0]


def steer_rows(
    raw: torch.Tensor,
    masked: torch.Tensor,
    strengths: Sequence[float],
    end_is_keyword: Sequence[Callable[[int], bool]],
    closing: torch.Tensor,
    end_tokens: Sequence[int],
    eos_ids: Sequence[int],
    line_ends: torch.Tensor | None = None,
    in_comment: Sequence[bool] = (),
) -> torch.Tensor:
    """In place on masked [R, V] rows, returned: steer the rows whose budget pulls (``strengths``) or whose
    model wants a closer the grammar bans: identifier `end`s banned, closing mass moved, budget pull
    (towards a line end for the rows ``in_comment``: one flag per row, or empty for none)."""
    probs = closing_probs(raw, masked, closing)  # once: banning identifier `end`s changes the mask, not these
    banned, allowed = closing_shares(probs, masked)
    steer = [r for r, (strength, share) in enumerate(zip(strengths, banned.tolist())) if strength > 0 or share >= TRANSFER_MIN]
    if not steer:
        return masked
    idx = torch.tensor(steer, dtype=torch.long, device=masked.device)
    sub = masked.index_select(0, idx)
    changed = ban_identifier_ends_rows(sub, end_tokens, [end_is_keyword[r] for r in steer])
    # the shares above still hold unless an identifier `end` was just banned (it counts as a closer)
    shares = None if changed else (banned.index_select(0, idx), allowed.index_select(0, idx))
    transfer_closing_mass_rows(probs.select(idx), sub, shares)
    comment = [in_comment[r] for r in steer] if in_comment else []
    budget_pull_rows(sub, [strengths[r] for r in steer], closing, eos_ids, line_ends, comment)
    return masked.index_copy_(0, idx, sub)


def pull_strength(used: int, budget: int) -> float:
    """0 before PULL_FROM of the budget is used, then growing linearly to 1 at its end."""
    frac = used / max(1, budget)
    return max(0.0, (frac - PULL_FROM) / (1.0 - PULL_FROM))


def budget_pull(logits: torch.Tensor, strength: float, closing: torch.Tensor, eos_ids: Sequence[int]) -> None:
    """In place on one row: favour closing tokens and EOS by ``strength`` (see pull_strength)."""
    budget_pull_rows(logits[None], [strength], closing, eos_ids)


def budget_pull_rows(
    logits: torch.Tensor,
    strengths: Sequence[float],
    closing: torch.Tensor,
    eos_ids: Sequence[int],
    line_ends: torch.Tensor | None = None,
    in_comment: Sequence[bool] = (),
) -> None:
    """In place on [R, V] rows: budget_pull with each row's strength (a row at 0 is left as it is).

    A row inside a comment (``in_comment``: one flag per row, or empty for none) is pulled towards the line
    ends (``line_end_mask``) instead of the closers: there a `)` or `end` is comment text and closes
    nothing, and a weak model pulled towards them fills the comment with closers until its budget runs out.
    """
    if not any(s > 0 for s in strengths):
        return
    comment = [bool(c) for c in in_comment] if line_ends is not None and any(in_comment) else [False] * len(strengths)
    pull = torch.tensor([max(0.0, s) for s in strengths], dtype=logits.dtype, device=logits.device)[:, None]
    at_line = torch.tensor(comment, device=logits.device)[:, None]
    zero = torch.zeros((), dtype=logits.dtype, device=logits.device)
    for mask, rows_pull in ((closing, torch.where(at_line, zero, pull)), (line_ends, torch.where(at_line, pull, zero))):
        if mask is None or not bool(rows_pull.any()):
            continue
        ids = mask[: logits.shape[1]].nonzero().squeeze(1).to(logits.device)
        logits.index_copy_(1, ids, logits.index_select(1, ids) + rows_pull * PULL_CLOSE)
    eos = [e for e in eos_ids if e < logits.shape[1]]
    if eos:
        logits[:, eos] += pull * PULL_EOS
