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
    """One token per row of ``logits`` [B, V]; temperature <= 0 (or no generator) means greedy.

    The sampled rows are drawn together by inversion: one uniform number from each row's own generator
    (so a sample's draws still do not depend on the batch), then one softmax, cumulative sum and search
    over all of them. A torch.multinomial call per row cost ~0.1 ms each, a third of a 16-row step's
    sampling and masking on the CPU.
    """
    tokens = logits.argmax(dim=-1).tolist()
    rows = [r for r, (temp, gen) in enumerate(zip(temperatures, generators)) if temp > 0 and gen is not None]
    if not rows:
        return tokens
    device = logits.device
    pick = torch.tensor(rows, dtype=torch.long, device=device)
    temps = torch.tensor([temperatures[r] for r in rows], dtype=torch.float64, device=device)
    # float64: the cumulative sum over a large vocabulary keeps the smallest probabilities' share exact enough
    probs = torch.softmax(logits.index_select(0, pick).to(torch.float64) / temps[:, None], dim=-1)
    nucleus = [j for j, r in enumerate(rows) if 0.0 < top_ps[r] < 1.0]
    at = torch.tensor(nucleus, dtype=torch.long, device=device)
    if nucleus:
        # nucleus rows are drawn in probability order: keep the smallest prefix whose mass reaches top_p
        # (at least one token), then map the drawn position back to its token
        sorted_probs, sorted_ids = probs.index_select(0, at).sort(dim=-1, descending=True)
        top_p = torch.tensor([top_ps[rows[j]] for j in nucleus], dtype=torch.float64, device=device)
        cut = sorted_probs.cumsum(-1) - sorted_probs >= top_p[:, None]
        probs[at] = sorted_probs.masked_fill(cut, 0.0)
    cdf = probs.cumsum(-1)
    draws = torch.cat([torch.rand(1, generator=generators[r], device=device, dtype=torch.float64) for r in rows])
    # the first index whose cumulative mass exceeds the draw: a zero-probability token is never chosen
    chosen = torch.searchsorted(cdf, (draws * cdf[:, -1]).unsqueeze(1), right=True).squeeze(1)
    chosen = chosen.clamp_(max=probs.shape[1] - 1)
    if nucleus:
        chosen[at] = sorted_ids.gather(1, chosen[at].unsqueeze(1)).squeeze(1)
    for r, tok in zip(rows, chosen.tolist()):
        tokens[r] = tok
    return tokens
