"""Earley items per mask step with a large code tokenizer: does the grammar fit llguidance's default limits?

vLLM and SGLang build their matcher with llguidance's default limits, 50,000 Earley items per mask
step; a step over that puts the matcher into an error state and the server then masks to EOS. This
replays real Elixir files (the grammar-coverage corpus) token by token through an `LLInterpreter`
with the limit lifted, reads each step's item count from llguidance's own step statistics, and
reports the distribution, the steps over the default limit and how many files would fail under it.

Usage: python bench/grammar_items.py [--files 30] [--tokens 400] [--vocab 100000] [--rule start]
Results go to bench/results/grammar_items.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))
sys.path.insert(0, str(_HERE.parent))

RESULTS = _HERE / "results" / "grammar_items.json"
DEFAULT_STEP_MAX_ITEMS = 50_000
# one line per mask step in llguidance's log (log_level 2); the group is the step's Earley items
STEP_STATS = re.compile(r"step-stats: \S+; \d+ lex fuel; (\d+) items")


def _child(grammar_file: str, sources_file: str, n_tokens: int, vocab: int) -> None:
    """Replay each source; print one marker line per token (llguidance logs its step stats before it)."""
    import llguidance as llg
    import llguidance.hf

    from code_bpe import code_bpe

    tok = code_bpe(vocab)
    lt = llguidance.hf.from_tokenizer(tok)  # as vLLM builds it: default slices
    grammar = Path(grammar_file).read_text(encoding="utf-8")
    for i, src in enumerate(json.loads(Path(sources_file).read_text(encoding="utf-8"))):
        ids = tok(src, add_special_tokens=False).input_ids[:n_tokens]
        interp = llg.LLInterpreter(lt, grammar, log_level=2, limits=llg.LLParserLimits(step_max_items=100_000_000))
        interp.start_without_prompt()
        for t in ids:
            interp.compute_mask()
            if interp.validate_tokens_raw([t]) < 1:
                print(f"@@REJECT {i}", flush=True)
                break
            print(f"@@TOKEN {i} {json.dumps(tok.decode([t]))}", flush=True)
            interp.commit_token(t)


def measure(n_files: int, n_tokens: int, vocab: int, rule: str) -> dict[str, Any]:
    """Items per mask step over held corpus files; the distribution and the files that pass the default cap."""
    from code_bpe import code_bpe
    from grammar_coverage import corpus_files, fetch_corpus

    from elixir_coder_lsp.inference.constraints import check_text, grammar_text

    code_bpe(vocab)  # train before timing anything
    files = [f for f in corpus_files(fetch_corpus())]
    files = files[:: max(1, len(files) // n_files)][:n_files]
    sources = [f.read_text(encoding="utf-8") for f in files]
    accepted = [check_text(s, rule).accepted for s in sources]
    with tempfile.TemporaryDirectory() as tmp:
        gfile, sfile = Path(tmp) / "g.lark", Path(tmp) / "s.json"
        gfile.write_text(grammar_text(rule), encoding="utf-8")
        sfile.write_text(json.dumps(sources), encoding="utf-8")
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, __file__, "--child", str(gfile), str(sfile), str(n_tokens), str(vocab)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
                             env={**os.environ, "OMP_NUM_THREADS": "1"})
        elapsed = time.perf_counter() - t0
    steps: list[int] = []
    worst: list[tuple[int, str, str]] = []
    per_file_max: dict[int, int] = {}
    context: dict[int, list[str]] = {}
    pending: int | None = None
    rejected: list[str] = []
    for line in out.stdout.splitlines():
        m = STEP_STATS.search(line)
        if m:
            pending = int(m.group(1))
            continue
        if line.startswith("@@TOKEN") or line.startswith("@@REJECT"):
            parts = line.split(" ", 2)
            i = int(parts[1])
            if line.startswith("@@REJECT"):
                rejected.append(files[i].name)
                pending = None
                continue
            token = json.loads(parts[2])
            if pending is not None:
                steps.append(pending)
                per_file_max[i] = max(per_file_max.get(i, 0), pending)
                worst.append((pending, "".join(context.get(i, [])[-6:])[-60:], token))
            context.setdefault(i, []).append(token)
            pending = None
    if not steps:
        raise RuntimeError("no step statistics read from llguidance's log:\n" + out.stdout[-2000:])
    steps.sort()
    worst.sort(reverse=True)
    q = lambda p: steps[min(len(steps) - 1, int(p * len(steps)))]  # noqa: E731
    over = [s for s in steps if s > DEFAULT_STEP_MAX_ITEMS]
    return {
        "tokenizer_vocab": vocab,
        "rule": rule,
        "files": len(files),
        "files_accepted_by_grammar": sum(accepted),
        "tokens_per_file": n_tokens,
        "steps": len(steps),
        "items": {"p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "max": steps[-1]},
        "steps_over_default_limit": len(over),
        "share_steps_over_default_limit": round(len(over) / len(steps), 4),
        "files_within_default_limit": sum(1 for v in per_file_max.values() if v <= DEFAULT_STEP_MAX_ITEMS),
        "rejected_by_grammar": rejected,
        "worst_steps": [{"items": n, "before": b, "token": t} for n, b, t in worst[:10]],
        "seconds": round(elapsed, 1),
        "cores": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    """Measure, print and write bench/results/grammar_items.json."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        _child(argv[1], argv[2], int(argv[3]), int(argv[4]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=30)
    ap.add_argument("--tokens", type=int, default=400)
    ap.add_argument("--vocab", type=int, default=100_000)
    ap.add_argument("--rule", default="start")
    args = ap.parse_args(argv)
    res = measure(args.files, args.tokens, args.vocab, args.rule)
    print(json.dumps(res, indent=1))
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[f"{args.rule}-{args.vocab // 1000}k"] = res
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
