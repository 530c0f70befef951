"""Round-trip time of Elixir helper requests (Python client -> BEAM -> Python).

Usage: .venv/bin/python bench/helper_roundtrip.py [--runs N]
Prints a table and writes bench/results/helper_roundtrip.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

from elixir_coder_lsp.elixir import ElixirHelper

SNIPPET = '''defmodule Greeter do
  def hello(name) when is_binary(name) do
    "Hello, " <> String.trim(name)
  end
end
'''


def generated_file(lines: int) -> str:
    """A valid module of about ``lines`` lines (7-line functions)."""
    parts = ["defmodule Generated do"]
    i = 0
    while len(parts) < lines - 1:
        parts += [
            f'  @doc "Function {i}."',
            f"  def fun_{i}(a, b) when is_integer(a) do",
            f'    x = Integer.to_string(a) <> "{i}"',
            "    Enum.map([a, b], fn y -> y * 2 end)",
            "    {x, %{key: a, other: [b, :atom]}}",
            "  end",
            "",
        ]
        i += 1
    return "\n".join([*parts, "end", ""])


def measure(fn, runs: int) -> dict[str, float]:
    """Median, p95, min and max of ``runs`` calls, in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return {"median_ms": statistics.median(times), "p95_ms": p95, "min_ms": times[0], "max_ms": times[-1], "runs": runs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="timed runs per case (after warm-up)")
    args = parser.parse_args()

    big = generated_file(2000)
    results: dict[str, dict[str, float]] = {}

    # Cold start: a fresh process (precompiled helper and rules cache warmed by a first start).
    with ElixirHelper(timeout=60) as warm:
        warm.request("ping")
    start = time.perf_counter()
    with ElixirHelper(timeout=60) as helper:
        helper.request("ping")
        results["start + first ping"] = {"median_ms": (time.perf_counter() - start) * 1000, "runs": 1}

        for _ in range(5):  # warm-up: JIT, code loading, caches
            helper.parse(SNIPPET)
            helper.summary(big)
        cases = {
            "ping": lambda: helper.request("ping"),
            "parse snippet (5 lines)": lambda: helper.parse(SNIPPET),
            "summary snippet (5 lines)": lambda: helper.summary(SNIPPET),
            f"parse file ({big.count(chr(10))} lines, {len(big) // 1024} KiB)": lambda: helper.parse(big),
            f"summary file ({big.count(chr(10))} lines)": lambda: helper.summary(big),
            "format snippet": lambda: helper.format(SNIPPET),
        }
        for name, fn in cases.items():
            runs = args.runs if "file" not in name else max(5, args.runs // 5)
            results[name] = measure(fn, runs)

    width = max(len(name) for name in results)
    print(f"{'case':<{width}}  {'median ms':>10}  {'p95 ms':>8}  {'runs':>5}")
    for name, r in results.items():
        p95 = f"{r['p95_ms']:8.2f}" if "p95_ms" in r else f"{'':>8}"
        print(f"{name:<{width}}  {r['median_ms']:10.2f}  {p95}  {r['runs']:>5}")

    elixir = subprocess.run(["elixir", "--version"], capture_output=True, text=True).stdout.strip().splitlines()
    out = Path(__file__).parent / "results" / "helper_roundtrip.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "results": results,
                "elixir": elixir,
                "python": platform.python_version(),
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "load_average": os.getloadavg(),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
