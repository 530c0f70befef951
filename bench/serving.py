"""Serving benchmark: tokens/s, latency and first-token latency at concurrency 1/4/16/64 through the real worker process.

    python bench/serving.py [--hidden 256] [--layers 4] [--device auto] [--max-new-tokens 64] [--repeats 3]
    python bench/serving.py --constrained --model trained|random|random-31k [--mask-overlap auto,off]

Prints a table and writes bench/results/serving.json (serving-constrained-MODEL.json with --constrained).
The batching gain is aggregate tokens/s at 16 concurrent requests divided by aggregate tokens/s at 1.
--constrained runs every level unconstrained and grammar-constrained (entry rule `start`), the
constrained runs once per grammar mask overlap mode (models.NAME.maskOverlap), in separate workers.
--model picks the small model of bench/train_model.py, an untrained twin of it (same shape and 4k
vocabulary), or such a twin over the 31k BPE of bench/constraints.py; the default is a tiny random model
built here (--hidden/--layers/--vocab).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from concurrent.futures import wait
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from elixir_coder_lsp.settings import ModelSettings  # noqa: E402
from elixir_coder_lsp.inference.backends.base import Backend  # noqa: E402
from elixir_coder_lsp.inference.backends.local import LocalBackend  # noqa: E402
from elixir_coder_lsp.inference.metrics import percentile  # noqa: E402
from elixir_coder_lsp.inference.tiny_model import build_tiny_checkpoint  # noqa: E402
from elixir_coder_lsp.inference.types import GenerationRequest, SamplingParams  # noqa: E402

PROMPTS = [
    "defmodule Inventory.Counter do\n  use GenServer\n",
    "  def handle_call({:get, key}, _from, state) do\n",
    "# Returns the sum of a list of integers\n",
    "defmodule Accounts.User do\n  use Ecto.Schema\n  import Ecto.Changeset\n\n  schema \"users\" do\n",
    "|> Enum.map(fn x -> x * 2 end)\n",
    "with {:ok, user} <- fetch_user(id),\n",
]


def run_level(
    backend: Backend,
    concurrency: int,
    rounds: int,
    max_new_tokens: int,
    seed: int,
    *,
    constrained: bool = False,
    prompts: list[str] = PROMPTS,
) -> dict:
    """Submit ``concurrency`` requests at once, ``rounds`` times; aggregate throughput and latencies."""
    latencies, first_tokens, tokens, wall = [], [], 0, 0.0
    for r in range(rounds):
        submitted: dict[str, float] = {}
        first: dict[str, float] = {}
        lock = threading.Lock()

        def on_event(event, _first=first, _lock=lock):
            if event.kind == "token":
                with _lock:
                    _first.setdefault(event.request_id, time.monotonic())

        start = time.monotonic()
        futures = []
        for i in range(concurrency):
            req = GenerationRequest(
                prompt=prompts[(i + r + seed) % len(prompts)],
                params=SamplingParams(temperature=0.8, seed=seed + i + 1000 * r, max_new_tokens=max_new_tokens),
                constrained=constrained,
                id=f"c{concurrency}-r{r}-{i}",
            )
            submitted[req.id] = time.monotonic()
            futures.append(backend.submit(req, on_event))
        done, not_done = wait(futures, timeout=600)
        if not_done:
            raise SystemExit(f"{len(not_done)} requests did not complete at concurrency {concurrency}")
        end = time.monotonic()
        wall += end - start
        for fut in futures:
            res = fut.result()
            tokens += sum(c.num_tokens for c in res.completions)
            latencies.append(res.timings["total_s"] * 1000)
            if res.request_id in first:
                first_tokens.append((first[res.request_id] - submitted[res.request_id]) * 1000)
    return {
        "concurrency": concurrency,
        "requests": concurrency * rounds,
        "completed": len(latencies),
        "tokens": tokens,
        "wall_s": round(wall, 3),
        "tokens_per_s": round(tokens / wall, 1),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "first_token_p50_ms": round(percentile(first_tokens, 50), 1) if first_tokens else None,
    }


def _bench_model(name: str) -> tuple[Path, list[str]]:
    """A benchmark model's checkpoint and its prompts (held-out "# name/arity" lines for the small models)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from train_model import model_dir, random_twin_dir

    trained = model_dir()
    if not (trained / "config.json").exists():
        raise SystemExit("no trained model; run bench/train_model.py first (about 5 minutes of CPU)")
    prompts = [p["prompt"] for p in json.loads((trained / "held_out.json").read_text())]
    if name == "trained":
        return trained, prompts
    if name == "random":
        return random_twin_dir(), prompts
    from constraints import random_31k_dir

    return random_31k_dir(), prompts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=0, help="attention heads (default: hidden / 64)")
    parser.add_argument("--vocab", type=int, default=512)
    parser.add_argument("--model", choices=["tiny", "trained", "random", "random-31k"], default="tiny")
    parser.add_argument("--constrained", action="store_true", help="also run every level grammar-constrained")
    parser.add_argument("--mask-overlap", default="auto,off", help="with --constrained: the maskOverlap modes to compare (auto, every, refused, off)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--levels", default="1,4,16,64")
    parser.add_argument("--threads", type=int, default=1, help="torch threads in the worker (0 = torch default)")
    parser.add_argument("--repeats", type=int, default=3, help="sweeps over the levels; each level reports its median sweep")
    parser.add_argument("--max-batch-size", type=int, default=64)
    parser.add_argument("--model-dir", default="", help="where to build/cache the random model (default: a temp dir)")
    parser.add_argument("--checkpoint", default="", help="serve this checkpoint directory instead (e.g. bench/gpu_model.py's)")
    parser.add_argument("--out", default="")
    args = parser.parse_args(argv)

    heads = args.heads or max(1, args.hidden // 64)
    t0 = time.monotonic()
    prompts = PROMPTS
    if args.checkpoint:
        model_dir = Path(args.checkpoint)
        cfg = json.loads((model_dir / "config.json").read_text())
        model_info = {"name": model_dir.name, "hidden": cfg["hidden_size"], "layers": cfg["num_hidden_layers"],
                      "heads": cfg["num_attention_heads"], "vocab": cfg["vocab_size"]}
    elif args.model == "tiny":
        model_dir = Path(args.model_dir) if args.model_dir else Path(tempfile.gettempdir()) / f"elixir-coder-bench-h{args.hidden}-l{args.layers}-v{args.vocab}"
        build_tiny_checkpoint(model_dir, vocab_size=args.vocab, hidden_size=args.hidden, num_layers=args.layers, num_heads=heads)
        model_info = {"name": "tiny", "hidden": args.hidden, "layers": args.layers, "heads": heads, "vocab": args.vocab}
    else:
        model_dir, prompts = _bench_model(args.model)
        cfg = json.loads((model_dir / "config.json").read_text())
        model_info = {"name": args.model, "hidden": cfg["hidden_size"], "layers": cfg["num_hidden_layers"],
                      "heads": cfg["num_attention_heads"], "vocab": cfg["vocab_size"]}
    build_s = time.monotonic() - t0

    # one worker per mask overlap mode (a worker setting); unconstrained runs use the first
    modes = [m for m in args.mask_overlap.split(",") if m] if args.constrained else ["auto"]
    variants = [("unconstrained", modes[0])] + ([(f"constrained/{m}", m) for m in modes] if args.constrained else [])
    backends: dict[str, LocalBackend] = {}
    try:
        for mode in modes:
            settings = ModelSettings(
                checkpoint=str(model_dir),
                device=args.device,
                dtype=args.dtype,
                max_batch_size=args.max_batch_size,
                batch_timeout_ms=10,
                max_sequence_length=1024,
                mask_overlap=mode,
            )
            backend = LocalBackend(f"bench-{mode}", settings, num_threads=args.threads or None, health_interval_s=0)
            backend.preload()
            backends[mode] = backend
        t0 = time.monotonic()
        for mode, backend in backends.items():
            if not backend.wait_ready(600):
                print(f"model did not load: {backend.status().message}", file=sys.stderr)
                return 2
            # warm-up: first forward passes allocate and tune kernels, the first constrained request builds the mask store
            backend.submit(GenerationRequest(prompt=prompts[0], params=SamplingParams(temperature=0, max_new_tokens=8),
                                             constrained=args.constrained)).result(300)
        ready_s = time.monotonic() - t0
        levels = [int(x) for x in args.levels.split(",") if x]
        # Sweep the levels several times and keep each level's median run: on a shared machine the load
        # changes over a minute, and interleaving spreads that over all levels and variants alike.
        runs: dict[tuple[str, int], list[dict]] = {(v, c): [] for v, _ in variants for c in levels}
        for rep in range(args.repeats):
            for c in levels:
                rounds = 4 if c == 1 else 2 if c <= 4 else 1
                for variant, mode in variants:
                    run = run_level(backends[mode], c, rounds, args.max_new_tokens, seed=c + 100 * rep,
                                    constrained=variant != "unconstrained", prompts=prompts)
                    runs[(variant, c)].append(run)
                    print(f"  sweep {rep + 1}, concurrency {c}, {variant}: {run['tokens_per_s']} tok/s", file=sys.stderr)
        table: dict[str, list[dict]] = {}
        for variant, _ in variants:
            rows = []
            for c in levels:
                rs = runs[(variant, c)]
                ordered = sorted(rs, key=lambda r: r["tokens_per_s"])
                row = dict(ordered[len(ordered) // 2])
                row["tokens_per_s_runs"] = [r["tokens_per_s"] for r in rs]
                row["completed"] = sum(r["completed"] for r in rs)
                row["requests"] = sum(r["requests"] for r in rs)
                rows.append(row)
            table[variant] = rows
        status = next(iter(backends.values())).status()
        load_s = next(iter(backends.values())).load_s or 0.0
    finally:
        for backend in backends.values():
            backend.close()

    def gain(rows: list[dict]) -> float | None:
        by_c = {r["concurrency"]: r for r in rows}
        return round(by_c[16]["tokens_per_s"] / by_c[1]["tokens_per_s"], 2) if 16 in by_c and 1 in by_c else None

    device = status.message.split(" on ")[-1] if " on " in status.message else args.device
    report = {
        "model": model_info,
        "device": device,
        "cpu_count": os.cpu_count(),
        "max_new_tokens": args.max_new_tokens,
        "max_batch_size": args.max_batch_size,
        "threads": args.threads or None,
        "repeats": args.repeats,
        "build_s": round(build_s, 2),
        "load_s": round(load_s, 2),
        "ready_s": round(ready_s, 2),
        "levels": table["unconstrained"],
        "batching_gain_16_vs_1": gain(table["unconstrained"]),
        "all_completed": all(r["completed"] == r["requests"] for rows in table.values() for r in rows),
        "host": {"python": platform.python_version(), "machine": platform.machine()},
    }
    if args.constrained:
        report["variants"] = table
        report["batching_gain_16_vs_1_by_variant"] = {v: gain(rows) for v, rows in table.items()}
        base = {r["concurrency"]: r["tokens_per_s"] for r in table["unconstrained"]}
        report["constrained_share_of_unconstrained"] = {
            v: {r["concurrency"]: round(r["tokens_per_s"] / base[r["concurrency"]], 3) for r in rows}
            for v, rows in table.items() if v != "unconstrained"
        }
    default_out = ROOT / "bench" / "results" / (f"serving-constrained-{args.model}.json" if args.constrained else "serving.json")
    out = Path(args.out) if args.out else default_out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")

    m = model_info
    print(f"model: {m['name']} hidden={m['hidden']} layers={m['layers']} heads={m['heads']} vocab={m['vocab']} on {device}; "
          f"{os.cpu_count()} cores, {args.threads or 'default'} torch threads")
    print(f"load: {report['load_s']}s in the worker ({report['ready_s']}s from start to ready)")
    print(f"(median of {args.repeats} sweeps; each level's p50/p95 come from its median sweep)")
    if not args.constrained:
        print(f"{'conc':>5} {'reqs':>5} {'tok/s':>9} {'p50 ms':>9} {'p95 ms':>9} {'1st tok p50 ms':>15}")
        for r in table["unconstrained"]:
            print(f"{r['concurrency']:>5} {r['requests']:>5} {r['tokens_per_s']:>9} {r['p50_ms']:>9} {r['p95_ms']:>9} {str(r['first_token_p50_ms']):>15}")
        print(f"batching gain (tok/s at 16 / at 1): {report['batching_gain_16_vs_1']}x   all requests completed: {report['all_completed']}")
    else:
        names = [v for v, _ in variants]
        print(f"{'conc':>5} " + " ".join(f"{v + ' tok/s':>24}" for v in names))
        for i, c in enumerate(levels):
            print(f"{c:>5} " + " ".join(f"{table[v][i]['tokens_per_s']:>24}" for v in names))
        print("batching gain 16 vs 1: " + ", ".join(f"{v} {g}x" for v, g in report["batching_gain_16_vs_1_by_variant"].items()))
        for v, share in report["constrained_share_of_unconstrained"].items():
            print(f"{v} / unconstrained: " + ", ".join(f"@{c} {x:.0%}" for c, x in share.items()))
        print(f"all requests completed: {report['all_completed']}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
