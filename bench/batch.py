"""Batch vs sequential generation through the façade: tokens per second of `generate_batch` and of one `generate` at a time.

Both runs use the same prompts, settings and model instance (one local worker). The batch submits every
prompt at once, so the worker's scheduler serves their samples in shared forward passes; the sequential
run waits for each prompt before the next. Tokens are counted from the pool's token events; the time is
wall-clock from the first submission to the last result, checks and formatting included.

    python bench/batch.py [--model DIR] [--prompts 8] [--candidates 4] [--max-new-tokens 48] [--repeats 2]

Without --model it uses bench/train_model.py's model when it has been trained, else builds the tiny
random test model. Prints a table and writes bench/results/batch.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROMPTS = [
    "add two numbers",
    "return the larger of two numbers",
    "sum a list of integers",
    "reverse a string",
    "count the words in a string",
    "double every element of a list",
    "keep the even numbers of a list",
    "join a list of strings with commas",
    "return the first element of a list or nil",
    "square a number",
    "check whether a string is empty",
    "build a map from a keyword list",
    "return the length of a list",
    "negate a number",
    "upcase a string",
    "return the last element of a list",
]


class TokenCounter:
    """Counts generated tokens from stream events (the largest tokens_so_far per sample)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, int], int] = {}

    def __call__(self, event: Any) -> None:
        if event.kind != "token":
            return
        key = (event.request_id, event.index)
        with self._lock:
            self._seen[key] = max(self._seen.get(key, 0) + 1, event.tokens_so_far or 0)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._seen.values())


def default_model() -> Path:
    """bench/train_model.py's model when trained, else the tiny random test model (built in a temp dir)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "elixir-coder" / "models" / "elixir-small"
    if (cache / "config.json").is_file():
        return cache
    from elixir_coder_lsp.inference.tiny_model import build_tiny_checkpoint

    return build_tiny_checkpoint(Path(tempfile.mkdtemp(prefix="bench-batch-")) / "llama")


def run(coder: Any, prompts: list[str], mode: str) -> dict[str, Any]:
    """One timed run: all prompts in one batch, or one after the other."""
    counter = TokenCounter()
    started = time.perf_counter()
    if mode == "batch":
        outcomes = coder.generate_batch(prompts, clarify=False, entry_rule="expr_seq", on_event=counter)
    else:
        outcomes = [coder.generate(p, entry_rule="expr_seq", on_event=counter) for p in prompts]
    seconds = time.perf_counter() - started
    tokens = counter.total
    statuses: dict[str, int] = {}
    for o in outcomes:
        statuses[o.status] = statuses.get(o.status, 0) + 1
    return {"mode": mode, "tokens": tokens, "seconds": round(seconds, 3), "tokens_per_s": round(tokens / seconds, 1), "statuses": statuses}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print/write its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="checkpoint directory (default: trained model, else tiny random)")
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--max-batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2, help="alternating runs of each mode; the best of each is reported")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "batch.json")
    args = parser.parse_args(argv)

    from elixir_coder_lsp.api import ElixirCoder
    from elixir_coder_lsp.config import parse_settings

    model = args.model or default_model()
    settings, errors = parse_settings({
        "models": {"default": {
            "checkpoint": str(model), "maxNewTokens": args.max_new_tokens, "maxBatchSize": args.max_batch_size, "device": args.device,
        }},
        "generation": {"candidates": args.candidates, "temperature": 0.8, "maxRepairAttempts": 1},
        "clarification": {"enabled": False},
    })
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 2
    prompts = (PROMPTS * (args.prompts // len(PROMPTS) + 1))[: args.prompts]
    coder = ElixirCoder(settings)
    try:
        coder.generate("warm up", entry_rule="expr_seq")  # loads the worker; not timed
        runs = []
        for _ in range(args.repeats):
            for mode in ("sequential", "batch"):
                runs.append(run(coder, prompts, mode))
                print(f"  {mode:10s} {runs[-1]['tokens']:6d} tokens {runs[-1]['seconds']:8.2f} s {runs[-1]['tokens_per_s']:8.1f} tok/s", file=sys.stderr)
    finally:
        coder.close()
    best = {mode: max((r for r in runs if r["mode"] == mode), key=lambda r: r["tokens_per_s"]) for mode in ("sequential", "batch")}
    speedup = best["batch"]["tokens_per_s"] / best["sequential"]["tokens_per_s"] if best["sequential"]["tokens_per_s"] else None
    doc = {
        "model": str(model),
        "device": args.device,
        "prompts": len(prompts),
        "candidates": args.candidates,
        "max_new_tokens": args.max_new_tokens,
        "threads": os.environ.get("OMP_NUM_THREADS"),
        "runs": runs,
        "best": best,
        "speedup": None if speedup is None else round(speedup, 2),
    }
    print(f"| mode | tokens | seconds | tokens/s |\n|---|---|---|---|")
    for mode in ("sequential", "batch"):
        b = best[mode]
        print(f"| {mode} | {b['tokens']} | {b['seconds']} | {b['tokens_per_s']} |")
    print(f"batch / sequential tokens/s: {doc['speedup']}x")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
