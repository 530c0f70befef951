"""didChange → publishDiagnostics latency through the real server (stdio), built-in rules.

Starts `python -m elixir_coder_lsp` as an editor would, opens generated Elixir files of 100, 500 and
2,000 lines, then times N edits per size from sending `didChange` to receiving the diagnostics for that
version (debounce set to 0 so the figure is the analysis itself, not the configured wait).

    python bench/diagnostics.py [--runs 30] [--out bench/results/diagnostics.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lsp_session import Session, percentile  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def make_file(lines: int) -> str:
    """A realistic module: functions with pipes, case, a debug call and a security finding per block."""
    out = ["defmodule Bench.Module do", '  @moduledoc "Generated for the benchmark."', ""]
    i = 0
    while len(out) < lines - 1:
        out += [
            f"  def step_{i}(items, opts) do",
            "    items",
            "    |> Enum.map(fn x -> x * 2 end)",
            "    |> Enum.filter(&(&1 > Keyword.get(opts, :min, 0)))",
            "    |> case do",
            "      [] -> {:error, :empty}",
            f"      list -> {{:ok, Enum.sum(list) + {i}}}",
            "    end",
            "  end",
            "",
        ]
        i += 1
    out = out[: lines - 1] + ["end"]
    return "\n".join(out) + "\n"


async def run(runs: int, sizes: list[int]) -> dict:
    session = Session()
    await session.start({"checks": {"onChangeDebounceMs": 0}})
    client = session.client
    results: dict[str, dict] = {}
    for size in sizes:
        uri = f"file:///bench/size_{size}.ex"
        fut = session.expect_diagnostics(uri, 1)
        session.open(uri, make_file(size))
        count = await asyncio.wait_for(fut, 120)
        latencies = []
        for run_i in range(runs):
            version = run_i + 2
            line = 5 + (run_i % 20)
            fut = session.expect_diagnostics(uri, version)
            started = time.perf_counter()
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[
                        types.TextDocumentContentChangePartial(
                            range=types.Range(start=types.Position(line=line, character=0), end=types.Position(line=line, character=0)),
                            text=" ",
                        )
                    ],
                )
            )
            count = await asyncio.wait_for(fut, 120)
            latencies.append((time.perf_counter() - started) * 1000)
        results[str(size)] = {
            "lines": size,
            "runs": runs,
            "diagnostics": count,
            "p50_ms": round(statistics.median(latencies), 2),
            "p95_ms": round(percentile(latencies, 0.95), 2),
            "min_ms": round(min(latencies), 2),
        }
    await session.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--sizes", default="100,500,2000")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "diagnostics.json"))
    args = parser.parse_args()
    results = asyncio.run(run(args.runs, [int(s) for s in args.sizes.split(",")]))
    print(f"{'lines':>6} {'p50 ms':>8} {'p95 ms':>8} {'min ms':>8} {'diagnostics':>12}")
    for r in results.values():
        print(f"{r['lines']:>6} {r['p50_ms']:>8} {r['p95_ms']:>8} {r['min_ms']:>8} {r['diagnostics']:>12}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": "didChange->publishDiagnostics (built-in rules)", "results": results}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
