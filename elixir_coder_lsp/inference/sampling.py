"""Per-row sampling: temperature, top-p and a generator owned by each sample (text is inference/output.py's)."""

from __future__ import annotations

from collections.abc import Sequence

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
