"""vLLM serving benchmark: aggregate tokens/s through the OpenAI-compatible backend, unconstrained vs the Elixir grammar.

    python bench/vllm_serving.py [--levels 1,4,16] [--rounds 2] [--max-new-tokens 64]

Starts a real vLLM CPU server on the tiny random model (bench/vllm_server.py; needs scripts/setup_vllm.sh)
and drives it with the same request mix as bench/serving.py, first unconstrained, then constrained (the
project's grammar, entry rule `start`, masked by vLLM's llguidance). Prints a table and writes
bench/results/vllm_serving.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from serving import run_level  # noqa: E402
from vllm_server import VllmUnavailable, build_model, start  # noqa: E402

from elixir_coder_lsp.config import ModelSettings  # noqa: E402
from elixir_coder_lsp.inference.backends.openai import OpenAIBackend  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Run the sweep and write the results."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="1,4,16")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "vllm_serving.json"))
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",")]
    work = Path(tempfile.mkdtemp(prefix="elixir-coder-vllm-bench-"))
    try:
        server = start(build_model(work / "tiny-llama"), work, max_num_seqs=max(levels))
    except VllmUnavailable as exc:
        shutil.rmtree(work, ignore_errors=True)
        print(f"vLLM is not available: {exc}", file=sys.stderr)
        return 2
    results: dict[str, list[dict]] = {}
    try:
        settings = ModelSettings(checkpoint=str(server.model_dir), backend="openai", url=server.url)
        backend = OpenAIBackend("vllm-bench", settings, read_timeout_s=300.0, max_concurrency=max(levels))
        try:
            run_level(backend, 1, 1, 8, 0)  # warm-up: first request, grammar compilation
            run_level(backend, 1, 1, 8, 0, constrained=True)
            for mode in ("unconstrained", "constrained"):
                results[mode] = [
                    run_level(backend, c, args.rounds, args.max_new_tokens, 7, constrained=mode == "constrained") for c in levels
                ]
        finally:
            backend.close()
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'':15}" + "".join(f"{c:>10}" for c in levels) + "   (aggregate tokens/s by concurrency)")
    for mode, rows in results.items():
        print(f"{mode:15}" + "".join(f"{r['tokens_per_s']:>10,.0f}" for r in rows))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"server_start_s": round(server.started_s, 1), "max_new_tokens": args.max_new_tokens, **results}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
