"""Time from `elixirCoder.generate` to `workspace/applyEdit` through the real server, by phase and concurrency.

"Typical prompts" are the one-function requests in bench/data/typical_prompts.json; each is a
`# TODO:` comment in its own document, so concurrent jobs never supersede each other. The server
reports each job's phases as work-done progress (`queued`, `loading model`, `sampling`, `generating N
tokens`, `checking`, `repairing`, `inserting`); a phase's time is from its first report to the next
phase's. The model is the tiny random test model unless --model names a checkpoint (e.g. the one
bench/gpu.sh builds); jobs whose candidates all ran out of tokens or failed are counted, not timed.

    python bench/generate_latency.py [--concurrency 1 10] [--max-new-tokens 32] [--candidates 6] [--model DIR] [--device cpu]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lsprotocol import types

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lsp_session import Session, percentile  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = ROOT / "bench" / "data" / "typical_prompts.json"
PHASES = ("queued", "loading model", "sampling", "generating", "checking", "repairing", "inserting")


def document(i: int, prompt: str) -> str:
    """A module holding one request comment (line 3, column 4)."""
    return f'defmodule Bench.Job{i} do\n  @moduledoc "Benchmark."\n\n  # TODO: {prompt}\nend\n'


def phase_of(message: str) -> str | None:
    """The phase a progress message belongs to (`generating 12 tokens` -> generating)."""
    return next((p for p in PHASES if message.startswith(p)), None)


def phase_times(reports: list[tuple[float, str]], end: float) -> dict[str, float]:
    """Milliseconds per phase: from a phase's first report to the next phase's first report (or the end)."""
    marks: list[tuple[float, str]] = []
    for t, message in reports:
        phase = phase_of(message)
        if phase and (not marks or marks[-1][1] != phase):
            marks.append((t, phase))
    out: dict[str, float] = {}
    for (t, phase), nxt in zip(marks, [m[0] for m in marks[1:]] + [end]):
        out[phase] = out.get(phase, 0.0) + (nxt - t) * 1000
    return out


async def one_job(session: Session, uri: str, waiter: asyncio.Future) -> dict[str, Any]:
    pos = types.Position(line=3, character=4)
    started = time.monotonic()
    result = await session.client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="elixirCoder.generate", arguments=[{"uri": uri, "range": types.Range(start=pos, end=pos)}])
    )
    job_id = result["jobId"] if isinstance(result, dict) else getattr(result, "jobId")
    try:
        await asyncio.wait_for(waiter, timeout=600)
        ok = waiter.result() is None
    except asyncio.TimeoutError:
        ok = False
    end = time.monotonic()
    reports = session.progress.get(f"elixir-coder/{job_id}", [])
    return {"ok": ok, "ms": (end - started) * 1000, "phases": phase_times(reports, end)}


class Router:
    """Edits and job failures routed to the job of their document."""

    def __init__(self, session: Session) -> None:
        self.waiters: dict[str, asyncio.Future] = {}
        client = session.client
        client.protocol.fm._features.pop(types.WORKSPACE_APPLY_EDIT, None)

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def on_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            for change in params.edit.document_changes or []:
                fut = self.waiters.get(change.text_document.uri)
                if fut is not None and not fut.done():
                    fut.set_result(None)
            return types.ApplyWorkspaceEditResult(applied=True)

        async def errors() -> None:
            while True:
                message = await session.errors.get()
                # a failed job names no document: fail the oldest waiter still open
                for fut in self.waiters.values():
                    if not fut.done():
                        fut.set_result(message)
                        break

        self.task = asyncio.ensure_future(errors())

    def wait_for(self, uri: str) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        self.waiters[uri] = fut
        return fut


async def run_level(session: Session, router: Router, prompts: list[str], concurrency: int, offset: int) -> dict[str, Any]:
    """Every prompt once, `concurrency` jobs at a time, each on its own document."""
    sem = asyncio.Semaphore(concurrency)

    async def job(i: int, prompt: str) -> dict[str, Any]:
        async with sem:
            uri = f"file:///bench/latency/c{concurrency}/job{offset + i}.ex"
            session.open(uri, document(offset + i, prompt))
            return await one_job(session, uri, router.wait_for(uri))

    started = time.monotonic()
    results = await asyncio.gather(*(job(i, p) for i, p in enumerate(prompts)))
    wall = time.monotonic() - started
    times = [r["ms"] for r in results if r["ok"]]
    phases: dict[str, list[float]] = {}
    for r in results:
        if r["ok"]:
            for phase, ms in r["phases"].items():
                phases.setdefault(phase, []).append(ms)
    return {
        "concurrency": concurrency,
        "jobs": len(results),
        "edits": len(times),
        "failed": len(results) - len(times),
        "wall_s": round(wall, 2),
        "p50_ms": round(statistics.median(times), 1) if times else None,
        "p95_ms": round(percentile(times, 0.95), 1) if times else None,
        "phase_p50_ms": {p: round(statistics.median(v), 1) for p, v in sorted(phases.items(), key=lambda kv: PHASES.index(kv[0]))},
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from elixir_coder_lsp.inference.tiny_model import build_tiny_checkpoint

    model = Path(args.model) if args.model else build_tiny_checkpoint(Path(tempfile.gettempdir()) / "elixir-coder-bench-tiny")
    prompts = json.loads(PROMPTS.read_text())["prompts"][: args.prompts]
    session = Session()
    session.progress_enabled = True
    await session.start(
        {
            "models": {"default": {"checkpoint": str(model), "maxNewTokens": args.max_new_tokens, "device": args.device,
                                   "maxBatchSize": max(16, args.candidates * max(args.concurrency))}},
            "generation": {"candidates": args.candidates, "temperature": 1.0, "maxRepairAttempts": args.repair_attempts},
            "clarification": {"enabled": False},  # typical prompts, timed without a question to the user
        }
    )
    router = Router(session)
    warm_uri = "file:///bench/latency/warm.ex"
    session.open(warm_uri, document(0, prompts[0]))
    warm = await one_job(session, warm_uri, router.wait_for(warm_uri))  # loads the model in its worker process
    levels = []
    for n, concurrency in enumerate(args.concurrency):
        levels.append(await run_level(session, router, prompts, concurrency, offset=1000 * (n + 1)))
    router.task.cancel()
    await session.stop()
    return {
        "benchmark": "elixirCoder.generate -> workspace/applyEdit, typical prompts (bench/data/typical_prompts.json)",
        "model": str(model),
        "device": args.device,
        "cores": os.cpu_count(),
        "prompts": len(prompts),
        "max_new_tokens": args.max_new_tokens,
        "candidates": args.candidates,
        "max_repair_attempts": args.repair_attempts,
        "first_job_with_model_load_ms": round(warm["ms"], 1),
        "levels": levels,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--prompts", type=int, default=22, help="how many of the typical prompts (at most 22)")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--candidates", type=int, default=6)
    parser.add_argument("--repair-attempts", type=int, default=3)
    parser.add_argument("--model", default="", help="a checkpoint directory (default: the tiny random test model)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "generate_latency.json"))
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(json.dumps(result, indent=1))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
