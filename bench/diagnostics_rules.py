"""Latency of the built-in rules (syntax + Credo + Sobelow) through the real Elixir helper.

Builds 100/500/2,000-line files from the calibration sources, runs `analyze` repeatedly and
prints p50/p95 per size; writes the figures as JSON (default bench/results/diagnostics_rules.json).

    .venv/bin/python bench/diagnostics_rules.py [--runs 21] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from pathlib import Path

from elixir_coder_lsp.elixir.client import ElixirHelper
from elixir_coder_lsp.inference.check import analyze

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [
    ROOT / "elixir_coder_lsp" / "samples",
    ROOT.parent / "shared" / "reference" / "calibration" / "src",
]


def corpus() -> list[str]:
    for d in SOURCES:
        files = sorted(d.glob("*.ex")) if d.is_dir() else []
        if files:
            return [f.read_text() for f in files]
    raise SystemExit("no Elixir sources found to build benchmark files from")


def make_file(sources: list[str], lines: int) -> str:
    out: list[str] = []
    i = 0
    while sum(s.count("\n") for s in out) < lines:
        src = sources[i % len(sources)]
        out.append(re.sub(r"defmodule (\S+) do", lambda m: f"defmodule {m.group(1)}N{i} do", src, count=1))
        i += 1
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "diagnostics_rules.json"))
    args = parser.parse_args()
    sources = corpus()
    results = []
    with ElixirHelper() as helper:
        analyze("x = 1", helper=helper)  # boot and warm up
        for size in (100, 500, 2000):
            code = make_file(sources, size)
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                res = analyze(code, helper=helper)
                times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            row = {
                "lines": code.count("\n") + 1,
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 1),
                "findings": len(res.findings),
            }
            results.append(row)
            print(f"{row['lines']:>5} lines  p50 {row['p50_ms']:>7.1f} ms  p95 {row['p95_ms']:>7.1f} ms  ({row['findings']} findings)")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"benchmark": "diagnostics_rules", "runs": args.runs, "results": results}, indent=2))


if __name__ == "__main__":
    main()
