"""Time from `elixirCoder.generate` to `workspace/applyEdit` through the real server and a tiny model.

Builds the tiny random test model (byte-level BPE + small Llama, no downloads), starts the server over
stdio, warms the worker up with one job, then runs N "Generate code" jobs on a `# TODO:` comment and
reports the median and p95 of command → edit. Jobs whose candidates all ran out of tokens (a random
model often does) are counted separately and not timed.

    python bench/generate_latency.py [--runs 15] [--max-new-tokens 32] [--candidates 6]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lsp_session import Session, percentile  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TEXT = 'defmodule Bench.Stats do\n  @moduledoc "Stats."\n\n  # TODO: return the mean of a list of numbers\nend\n'


async def one_job(session: Session, uri: str) -> tuple[float | None, str | None]:
    pos = types.Position(line=3, character=4)
    started = time.perf_counter()
    await session.client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="elixirCoder.generate", arguments=[{"uri": uri, "range": types.Range(start=pos, end=pos)}])
    )
    edit = asyncio.ensure_future(session.edits.get())
    error = asyncio.ensure_future(session.errors.get())
    done, pending = await asyncio.wait({edit, error}, timeout=300, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    if edit in done:
        return (time.perf_counter() - started) * 1000, None
    return None, error.result() if error in done else "timeout"


async def run(args: argparse.Namespace) -> dict:
    from elixir_coder_lsp.inference.tiny_model import build_tiny_checkpoint

    model = build_tiny_checkpoint(Path(tempfile.gettempdir()) / "elixir-coder-bench-tiny")
    session = Session()
    await session.start(
        {
            "models": {"default": {"checkpoint": str(model), "maxNewTokens": args.max_new_tokens}},
            "generation": {"candidates": args.candidates, "temperature": 1.0},
            "clarification": {"enabled": False},  # times generation alone; asking is a separate step
        }
    )
    uri = "file:///bench/gen.ex"
    session.open(uri, TEXT)
    warm_started = time.perf_counter()
    await one_job(session, uri)  # loads the model in its worker process
    warm_ms = (time.perf_counter() - warm_started) * 1000
    times, failed = [], 0
    for _ in range(args.runs):
        ms, err = await one_job(session, uri)
        if ms is None:
            failed += 1
        else:
            times.append(ms)
    await session.stop()
    return {
        "benchmark": "elixirCoder.generate -> workspace/applyEdit (tiny random model, cpu)",
        "runs": args.runs,
        "timed": len(times),
        "ran_out_of_tokens": failed,
        "first_job_with_model_load_ms": round(warm_ms, 1),
        "p50_ms": round(statistics.median(times), 1) if times else None,
        "p95_ms": round(percentile(times, 0.95), 1) if times else None,
        "max_new_tokens": args.max_new_tokens,
        "candidates": args.candidates,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--candidates", type=int, default=6)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "generate_latency.json"))
    args = parser.parse_args()
    result = asyncio.run(run(args))
    for key, value in result.items():
        print(f"{key:>32}: {value}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
