"""Constrained decoding benchmark: mask time per token, and syntax errors with vs without the grammar.

Usage:
  python bench/constraints.py masks  [--files 40] [--batch 16]        # needs only the corpus
  python bench/constraints.py quality [--prompts 200] [--max-new 256]   # needs bench/train_model.py first
  python bench/constraints.py all

Mask timing uses a 32k-token byte-level BPE trained on the stdlib corpus (cached) and replays held-out
stdlib functions token by token: a full mask single-thread (one matcher, no executor) and batched (B
sequences in lockstep through fill_next_token_bitmask_par), and the engine's lazy check of one sampled
token (what most steps cost; the quality part reports how many steps needed the full mask). Quality runs the small trained model through
the product's engine (the worker's decode loop, in-process) on held-out "# name/arity" prompts,
unconstrained vs constrained (entry rule `start`): syntax error rate among completed outputs (parsed by
Elixir), completion rate (finished within the token budget), tokens/s.
Results go to bench/results/constraints.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))
sys.path.insert(0, str(_HERE.parent))

from grammar_coverage import cache_dir, fetch_corpus  # noqa: E402
from grammar_soundness import parse_many  # noqa: E402
from train_model import corpus_functions, model_dir, train_tokenizer  # noqa: E402

RESULTS = _HERE / "results" / "constraints.json"


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def bpe32k() -> Any:
    """The 32k BPE trained on the corpus (built once, cached)."""
    from transformers import PreTrainedTokenizerFast

    path = cache_dir().parent / "models" / "bpe32k" / "tokenizer.json"
    if not path.exists():
        root = fetch_corpus().parent  # the whole source tree (lib + tests), to have enough pairs for 32k merges
        files = sorted(p for p in root.rglob("*") if p.suffix in (".ex", ".exs", ".erl") and p.is_file())
        texts = [p.read_text(encoding="utf-8", errors="replace") for p in files]
        train_tokenizer(texts, 32000, path)
    return PreTrainedTokenizerFast(tokenizer_file=str(path), eos_token="<eos>")


def bench_masks(n_files: int, batch: int) -> dict[str, Any]:
    """Mask computation time per token, single-thread and batched."""
    import torch

    from elixir_coder_lsp.inference.constraints import apply_mask, build_mask_store, check_text, fill_bitmask

    tok = bpe32k()
    t0 = time.perf_counter()
    store = build_mask_store(tok)
    store.constraint("start")
    build_s = time.perf_counter() - t0
    funcs = [h + b for h, b in corpus_functions()[:400]]
    progs = [b for b in (f.split("\n", 1)[1] for f in funcs) if check_text(b).accepted][:n_files]
    seqs = [tok(p, add_special_tokens=False).input_ids for p in progs]
    words = (store.vocab_size + 31) // 32

    # single thread: one matcher, mask computed in the calling thread
    single: list[float] = []
    buf = torch.empty((1, words), dtype=torch.int32)
    for ids in seqs:
        c = store.constraint("start")
        for t in ids:
            s = time.perf_counter()
            c.matcher.unsafe_compute_mask_ptr(buf.data_ptr(), words * 4)
            single.append(time.perf_counter() - s)
            if not c.consume(t):
                break

    # lazy check: the engine first samples without the mask and keeps the token when the grammar allows
    # it (SequenceConstraint.allows); only a refused token costs a full mask
    lazy: list[float] = []
    for ids in seqs:
        c = store.constraint("start")
        for t in ids:
            s = time.perf_counter()
            c.allows(t)
            lazy.append(time.perf_counter() - s)
            if not c.consume(t):
                break

    # batched: `batch` sequences in lockstep, all masks filled in parallel
    per_step: list[float] = []
    per_step_apply: list[float] = []
    groups = [seqs[i : i + batch] for i in range(0, len(seqs), batch)]
    for group in groups:
        cons = [store.constraint("start") for _ in group]
        logits = torch.zeros(len(group), store.vocab_size)
        for step in range(max(len(g) for g in group)):
            live = [c if step < len(g) else None for c, g in zip(cons, group)]
            if not any(x is not None for x in live):
                break
            s = time.perf_counter()
            fill_bitmask(live, store.vocab_size)
            per_step.append((time.perf_counter() - s) / sum(x is not None for x in live))
            s = time.perf_counter()
            apply_mask(logits.zero_(), live)
            per_step_apply.append(time.perf_counter() - s)
            for c, g in zip(live, group):
                if c is not None:
                    c.consume(g[step])
    us = 1e6
    return {
        "tokenizer_vocab": store.vocab_size,
        "store_build_s": round(build_s, 2),
        "compile_s": {k[0]: round(v, 3) for k, v in store.compile_seconds.items()},
        "programs": len(seqs),
        "tokens": len(single),
        "single_thread_us": {"p50": round(_pct(single, 0.5) * us, 1), "p99": round(_pct(single, 0.99) * us, 1),
                             "mean": round(statistics.mean(single) * us, 1)},
        "lazy_check_us": {"p50": round(_pct(lazy, 0.5) * us, 1), "p99": round(_pct(lazy, 0.99) * us, 1),
                          "mean": round(statistics.mean(lazy) * us, 1)},
        "batched": {
            "batch": batch,
            "per_token_us": {"p50": round(_pct(per_step, 0.5) * us, 1), "p99": round(_pct(per_step, 0.99) * us, 1)},
            "apply_mask_per_step_ms": {"p50": round(_pct(per_step_apply, 0.5) * 1e3, 2),
                                       "p99": round(_pct(per_step_apply, 0.99) * 1e3, 2)},
        },
    }


def bench_quality(n_prompts: int, max_new: int, batch: int, temperature: float) -> dict[str, Any]:
    """Syntax error and completion rates of the small model, unconstrained vs constrained, through the engine."""
    from elixir_coder_lsp.inference.engine import GrammarStats
    from elixir_coder_lsp.inference.serving import Serving
    from elixir_coder_lsp.inference.types import GenerationRequest, SamplingParams

    mdir = model_dir()
    if not (mdir / "config.json").exists():
        return {"skipped": "no trained model; run bench/train_model.py first"}
    # the product's decode loop (continuous batching, grammar masks, budget-aware completion), in-process
    engine = Serving.new(str(mdir), max_batch_size=batch, device="cpu").engine()
    prompts = [p["prompt"] for p in json.loads((mdir / "held_out.json").read_text())][:n_prompts]
    out: dict[str, Any] = {"max_new_tokens": max_new, "temperature": temperature}
    for mode in ("unconstrained", "constrained"):
        requests = [
            GenerationRequest(
                prompt=p,
                params=SamplingParams(temperature=temperature, top_p=0.95, seed=i, max_new_tokens=max_new),
                constrained=mode == "constrained",
                id=f"{mode}-{i}",
            )
            for i, p in enumerate(prompts)
        ]
        engine.grammar_stats = GrammarStats()
        t0 = time.perf_counter()
        results = engine.generate(requests)
        elapsed = time.perf_counter() - t0
        gs = engine.grammar_stats
        comps = [r.completions[0] for r in results]
        done = [c.text for c in comps if c.finish_reason == "stop"]
        errors = parse_many(done)
        n_err = sum(e is not None for e in errors)
        n_tokens = sum(c.num_tokens for c in comps)
        reasons: dict[str, int] = {}
        for c in comps:
            reasons[c.finish_reason] = reasons.get(c.finish_reason, 0) + 1
        out[mode] = {
            "prompts": len(comps),
            "completed": len(done),
            "completion_rate": round(len(done) / len(comps), 3),
            "finish_reasons": reasons,
            "syntax_errors": n_err,
            "syntax_error_rate": round(n_err / len(done), 3) if done else None,
            "tokens_per_s": round(n_tokens / elapsed, 1),
            "mean_tokens": round(n_tokens / len(comps), 1),
            # completed by the engine's close-out (a short valid ending appended, see inference/closing.py)
            "closed_out": sum(1 for c in comps if c.finish_reason == "stop" and c.closed_tokens),
            "examples": done[:3],
            "grammar": {
                # lazy: the sampled token checked alone; masked: a full vocabulary mask and a second sample
                "row_steps": gs.lazy_steps + gs.masked_steps,
                "lazy_share": round(gs.lazy_steps / max(1, gs.lazy_steps + gs.masked_steps), 3),
                "lazy_us_per_check": round(1e6 * gs.lazy_s / max(1, gs.lazy_steps + gs.masked_steps), 1),
                "masked_ms_per_row": round(1e3 * gs.masked_s / max(1, gs.masked_steps), 2),
                "grammar_us_per_token": {
                    "mean": round(1e6 * (gs.lazy_s + gs.masked_s) / max(1, gs.lazy_steps + gs.masked_steps), 1),
                    "p50": round(1e6 * _pct(gs.per_step_s, 0.5), 1) if gs.per_step_s else None,
                    "p99": round(1e6 * _pct(gs.per_step_s, 0.99), 1) if gs.per_step_s else None,
                },
            },
            "failing": [{"text": t, "error": e} for t, e in zip(done, errors) if e is not None][:10],
            "truncated": [c.text for c in comps if c.finish_reason != "stop"][:10],
        }
    u, c = out["unconstrained"]["syntax_error_rate"], out["constrained"]["syntax_error_rate"]
    if u:
        out["error_rate_reduction"] = round((u - (c or 0.0)) / u, 3)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the requested benchmark parts and write bench/results/constraints.json."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("part", choices=["masks", "quality", "all"], nargs="?", default="all")
    ap.add_argument("--files", type=int, default=40)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--prompts", type=int, default=200)
    ap.add_argument("--max-new", type=int, default=256)
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if args.part in ("masks", "all"):
        results["masks"] = bench_masks(args.files, args.batch)
        print(json.dumps(results["masks"], indent=1))
    if args.part in ("quality", "all"):
        results["quality"] = bench_quality(args.prompts, args.max_new, args.batch, args.temperature)
        print(json.dumps({k: v for k, v in results["quality"].items()}, indent=1))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
