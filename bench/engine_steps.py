"""Where an engine step's time goes, unconstrained vs grammar-constrained: forward pass, the rest, live rows.

The engine runs in process (no worker), as bench/constraints.py overlap does, on the small trained model
of bench/train_model.py: 16 held-out prompts submitted at once, at most 64 new tokens, temperature 0.8,
three rounds per variant, the variants interleaved twice. Each step is timed whole and its forward pass
(ModelRunner.decode) alone; "other" is the rest: sampling, grammar checks and masks, steering,
close-out, streaming. Live rows per step fall as samples finish, and constrained samples finish sooner
(the close-out), which lowers their tokens/s apart from the step's cost.

Usage: python bench/engine_steps.py [--requests 16] [--max-new 64] [--rounds 3]
Prints a table and writes bench/results/engine_steps.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))
sys.path.insert(0, str(_HERE.parent))

from train_model import model_dir  # noqa: E402

from elixir_coder_lsp.inference.serving import Serving  # noqa: E402
from elixir_coder_lsp.inference.types import GenerationRequest, SamplingParams  # noqa: E402

RESULTS = _HERE / "results" / "engine_steps.json"


class StepTimer:
    """Wraps an engine's step and its runner's decode to add up their times and the rows decoded."""

    def __init__(self, engine: Any) -> None:
        self.engine, self._step, self._decode = engine, engine.step, engine.runner.decode
        engine.step, engine.runner.decode = self.step, self.decode
        self.reset()

    def reset(self) -> None:
        self.step_s = self.forward_s = 0.0
        self.steps = self.rows = 0

    def step(self) -> Any:
        started = time.perf_counter()
        out = self._step()
        self.step_s += time.perf_counter() - started
        self.steps += 1
        return out

    def decode(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        logits = self._decode(*args, **kwargs)
        self.forward_s += time.perf_counter() - started
        self.rows += logits.shape[0]
        return logits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--max-new", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    mdir = model_dir()
    if not (mdir / "config.json").exists():
        print("no trained model: run python bench/train_model.py first", file=sys.stderr)
        return 1
    prompts = [p["prompt"] for p in json.loads((mdir / "held_out.json").read_text())][: args.requests]
    engine = Serving.new(str(mdir), max_batch_size=args.requests, batch_timeout_ms=0, device="cpu").engine()
    timer = StepTimer(engine)

    def run(constrained: bool, rnd: int) -> int:
        reqs = [GenerationRequest(prompt=p, params=SamplingParams(temperature=0.8, seed=1000 * rnd + i, max_new_tokens=args.max_new),
                                  constrained=constrained, id=f"{constrained}-{rnd}-{i}") for i, p in enumerate(prompts)]
        return sum(c.num_tokens for r in engine.generate(reqs) for c in r.completions)

    run(True, 99), run(False, 99)  # warm-up: the mask store, torch's first calls
    rows: list[dict[str, Any]] = []
    for repeat in range(2):
        for constrained in (False, True):
            timer.reset()
            tokens = sum(run(constrained, rnd) for rnd in range(args.rounds))
            steps = max(1, timer.steps)
            rows.append({
                "variant": "constrained" if constrained else "unconstrained", "repeat": repeat + 1, "tokens": tokens,
                "steps": timer.steps, "live_rows_per_step": round(timer.rows / steps, 1),
                "step_ms": round(1e3 * timer.step_s / steps, 2), "forward_ms": round(1e3 * timer.forward_s / steps, 2),
                "other_ms": round(1e3 * (timer.step_s - timer.forward_s) / steps, 2),
                "tokens_per_s": round(tokens / max(timer.step_s, 1e-9)),
            })
    print(f"{args.requests} requests at once, {args.rounds} rounds, {os.cpu_count()} cores, 1 torch thread")
    print(f"{'variant':>14} {'rows/step':>9} {'step ms':>8} {'forward':>8} {'other':>7} {'tok/s':>6}")
    for r in rows:
        print(f"{r['variant']:>14} {r['live_rows_per_step']:>9} {r['step_ms']:>8} {r['forward_ms']:>8} {r['other_ms']:>7} {r['tokens_per_s']:>6}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"cpu_count": os.cpu_count(), "requests": args.requests, "rows": rows}, indent=1))
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
