"""Per-row sampling (temperature, top-p, per-request generator), incremental detokenisation and stop strings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch


def make_generator(seed: int, device: str) -> torch.Generator:
    """A generator owned by one sample, so its draws do not depend on the rest of the batch."""
    gen = torch.Generator(device=device)
    gen.manual_seed(seed & 0x7FFF_FFFF_FFFF_FFFF)
    return gen


def sample_tokens(
    logits: torch.Tensor,
    temperatures: Sequence[float],
    top_ps: Sequence[float],
    generators: Sequence[torch.Generator | None],
) -> list[int]:
    """One token per row of ``logits`` [B, V]; temperature <= 0 (or no generator) means greedy."""
    tokens = logits.argmax(dim=-1).tolist()
    for row, (temp, top_p, gen) in enumerate(zip(temperatures, top_ps, generators)):
        if temp <= 0 or gen is None:
            continue
        probs = torch.softmax(logits[row] / temp, dim=-1)
        if 0.0 < top_p < 1.0:
            sorted_probs, order = probs.sort(descending=True)
            cum = sorted_probs.cumsum(0)
            # keep the smallest prefix whose mass reaches top_p (always at least one token)
            cut = cum - sorted_probs >= top_p
            sorted_probs = sorted_probs.masked_fill(cut, 0.0)
            choice = torch.multinomial(sorted_probs, 1, generator=gen)
            tokens[row] = int(order[choice])
        else:
            tokens[row] = int(torch.multinomial(probs, 1, generator=gen))
    return tokens


def detokenize_step(tokenizer: Any, ids: list[int], prefix_offset: int, read_offset: int) -> tuple[str, int, int]:
    """New text since the last call, decoding only a short window (byte-level BPE safe: partial UTF-8 waits)."""
    prefix_text = tokenizer.decode(ids[prefix_offset:read_offset], skip_special_tokens=True)
    new_text = tokenizer.decode(ids[prefix_offset:], skip_special_tokens=True)
    if len(new_text) > len(prefix_text) and not new_text.endswith("\ufffd"):
        return new_text[len(prefix_text) :], read_offset, len(ids)
    return "", prefix_offset, read_offset


def find_stop(text: str, stops: Sequence[str], since: int) -> int | None:
    """Index where the earliest stop string starts in ``text``, searching from ``since`` (minus overlap)."""
    best: int | None = None
    for stop in stops:
        if not stop:
            continue
        at = text.find(stop, max(0, since - len(stop) + 1))
        if at != -1 and (best is None or at < best):
            best = at
    return best


def stream_holdback(stops: Sequence[str]) -> int:
    """How many trailing characters to hold back from streaming so a stop string is never shown."""
    return max((len(s) for s in stops if s), default=1) - 1
