"""Sampling cost per engine step: the engine's batched sampler against one torch.multinomial per row.

The engine draws every sampled row of a step together (inference/sampling.py: one uniform number from
each row's own generator, then one softmax, cumulative sum and search). The reference is what it
replaced: a softmax and a torch.multinomial call per row. Random logits, 16 rows, temperature 0.8, one
torch thread, for vocabularies of 4k (the small trained model), 32k and 152k (a real code model's).
It also times the steering of refused rows (inference/steering.py: steer_rows) on the same rows, with
70% of each row banned by a stand-in grammar mask, 0.5% of the vocabulary closing tokens that the model
favours, and every other row in its budget pull.

Usage: python bench/sampling.py [--rows 16] [--vocabs 4096,32000,152064] [--repeats 15]
Prints a table and writes bench/results/sampling.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE.parent))

from elixir_coder_lsp.inference import steering  # noqa: E402
from elixir_coder_lsp.inference.sampling import make_generator, sample_tokens  # noqa: E402

RESULTS = _HERE / "results" / "sampling.json"


def per_row_multinomial(logits: torch.Tensor, temperature: float, top_p: float, gens: list[torch.Generator]) -> list[int]:
    """The reference: each row softmaxed and drawn on its own (top-p by a sort of that row)."""
    out = []
    for row, gen in zip(logits, gens):
        probs = torch.softmax(row / temperature, dim=-1)
        if top_p < 1.0:
            sorted_probs, order = probs.sort(descending=True)
            sorted_probs = sorted_probs.masked_fill(sorted_probs.cumsum(0) - sorted_probs >= top_p, 0.0)
            out.append(int(order[torch.multinomial(sorted_probs, 1, generator=gen)]))
        else:
            out.append(int(torch.multinomial(probs, 1, generator=gen)))
    return out


def _median_ms(fn: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1e3, 2)


def steer_ms(logits: torch.Tensor, repeats: int) -> float:
    """Median ms of steer_rows over all rows: 70% of each row banned, closers favoured, every other row pulled."""
    n_rows, vocab = logits.shape
    gen = torch.Generator().manual_seed(1)
    closing = torch.zeros(vocab, dtype=torch.bool)
    closing[torch.randperm(vocab, generator=gen)[: vocab // 200]] = True
    raw = logits.clone()
    raw[:, closing.nonzero().squeeze(1)[:5]] += 6.0
    masked = raw.masked_fill(torch.rand(n_rows, vocab, generator=gen) < 0.7, float("-inf"))
    strengths = [0.5 * (r % 2) for r in range(n_rows)]
    ends = [lambda tid: True] * n_rows
    return _median_ms(lambda: steering.steer_rows(raw, masked.clone(), strengths, ends, closing, [], [0]), repeats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=16)
    parser.add_argument("--vocabs", default="4096,32000,152064")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rows: list[dict[str, Any]] = []
    steer: list[dict[str, Any]] = []
    for vocab in (int(v) for v in args.vocabs.split(",")):
        logits = torch.randn(args.rows, vocab) * 3
        gens = [make_generator(i, "cpu") for i in range(args.rows)]
        steer.append({"vocab": vocab, "steer_rows_ms": steer_ms(logits, args.repeats)})
        for top_p in (1.0, 0.95):
            batched = _median_ms(lambda: sample_tokens(logits, [0.8] * args.rows, [top_p] * args.rows, gens), args.repeats)
            reference = _median_ms(lambda: per_row_multinomial(logits, 0.8, top_p, gens), args.repeats)
            rows.append({"vocab": vocab, "top_p": top_p, "batched_ms": batched, "per_row_ms": reference,
                         "speedup": round(reference / max(batched, 1e-9), 2)})
    result = {"cpu_count": os.cpu_count(), "torch_threads": 1, "rows": args.rows, "table": rows, "steering": steer}
    print(f"{args.rows} rows per step, 1 torch thread, {os.cpu_count()} cores (median of {args.repeats})")
    print(f"{'vocab':>7} {'top_p':>5} {'batched ms':>10} {'per-row ms':>10} {'speedup':>7}")
    for r in rows:
        print(f"{r['vocab']:>7} {r['top_p']:>5} {r['batched_ms']:>10} {r['per_row_ms']:>10} {r['speedup']:>6}x")
    print("steering every row as refused (steer_rows): " + ", ".join(f"{r['vocab']}: {r['steer_rows_ms']} ms" for r in steer))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1))
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
