"""Constrained decoding benchmark: mask time per token, masks overlapped with the forward pass, and syntax errors.

Usage:
  python bench/constraints.py masks  [--files 40] [--batch 16] [--vocabs 31k,100k]  # needs only the corpus
  python bench/constraints.py overlap [--batch 16] [--max-new 64] [--seconds 120]    # needs bench/train_model.py
  python bench/constraints.py quality [--prompts 200] [--max-new 256]                # needs bench/train_model.py
  python bench/constraints.py all

Mask timing replays held-out stdlib functions token by token, on a 31k byte-level BPE trained on the
stdlib corpus and on the 100k code BPE of bench/code_bpe.py, both through the product's
build_mask_store (its raised item limit): a full mask single-thread (one matcher, no executor) and
batched (B sequences in lockstep through the LLExecutor), the engine's check of one sampled token (what
most steps cost), and per step the time to fill all B rows' masks on the critical path: serially after
the forward pass, or overlapped with it by MaskPrefetch (--forward-ms stands in for a GPU forward pass,
during which the host cores are idle). Overlap runs the engine in-process with B concurrent constrained
requests for each maskOverlap mode (off / auto / all) on the trained model, its untrained twin and an
untrained twin over the 31k BPE: tokens/s, the share of refused row-steps, how many of their masks came
from the background, and the grammar time on each engine step's critical path. Quality runs the small
trained model through the engine on held-out "# name/arity" prompts, unconstrained vs constrained (entry
rule `start`): syntax error rate among completed outputs (parsed by Elixir), completion rate, tokens/s.
Every part reports os.cpu_count(). Results go to bench/results/constraints.json.
"""

from __future__ import annotations

import argparse
import json
import os
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
from train_model import corpus_functions, model_dir, random_twin_dir, train_tokenizer  # noqa: E402

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


def random_31k_dir() -> Path:
    """A random model of the trained one's shape over the 31k BPE (built once): masks cost ~10x more than
    on the trained model's 4k vocabulary, so this is where overlapping them with the forward pass is tested."""
    out = cache_dir().parent / "models" / "random-31k"
    if (out / "config.json").exists():
        return out
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    tok = bpe32k()
    tok.pad_token = tok.eos_token
    cfg = AutoConfig.from_pretrained(random_twin_dir())
    cfg.vocab_size = len(tok)
    cfg.bos_token_id = cfg.eos_token_id = cfg.pad_token_id = tok.eos_token_id
    torch.manual_seed(2)
    AutoModelForCausalLM.from_config(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def _stats_us(xs: list[float]) -> dict[str, float]:
    us = 1e6
    return {"p50": round(_pct(xs, 0.5) * us, 1), "p99": round(_pct(xs, 0.99) * us, 1), "mean": round(statistics.mean(xs) * us, 1)}


def mask_programs(n_files: int) -> list[str]:
    """The held-out function bodies the mask benchmarks replay (those the grammar accepts)."""
    from elixir_coder_lsp.inference.constraints import check_text

    funcs = [h + b for h, b in corpus_functions()[:400]]
    return [b for b in (f.split("\n", 1)[1] for f in funcs) if check_text(b).accepted][:n_files]


def bench_masks_one(tok: Any, n_files: int, batch: int, forward_ms: float) -> dict[str, Any]:
    """Mask time per token for one tokenizer: single-thread, lazy check, batched, and overlapped vs serial."""
    import torch

    from elixir_coder_lsp.inference.constraints import (
        MaskPrefetch, apply_mask, build_mask_store, executor_threads, fill_bitmask,
    )

    t0 = time.perf_counter()
    store = build_mask_store(tok)  # the product's path: STEP_MAX_ITEMS raised above llguidance's default
    warm = store.constraint("start")
    fill_bitmask([warm], store.vocab_size)  # the first mask builds llguidance's token tables
    build_s = time.perf_counter() - t0
    seqs = [tok(p, add_special_tokens=False).input_ids for p in mask_programs(n_files)]
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
    per_token: list[float] = []
    per_step_apply: list[float] = []
    # per engine step, grammar time on the critical path when every row needs its mask: serial = filled
    # after the forward pass; overlapped = filled by MaskPrefetch during it, the wait after it counted
    serial_step: list[float] = []
    overlap_step: list[float] = []
    groups = [seqs[i : i + batch] for i in range(0, len(seqs), batch)]
    for group in groups:
        cons = [store.constraint("start") for _ in group]
        twins = [store.constraint("start") for _ in group]
        logits = torch.zeros(len(group), store.vocab_size)
        for step in range(max(len(g) for g in group)):
            live = [c if step < len(g) else None for c, g in zip(cons, group)]
            n_live = sum(x is not None for x in live)
            if not n_live:
                break
            s = time.perf_counter()
            bitmask = fill_bitmask(live, store.vocab_size)
            filled = time.perf_counter() - s
            per_token.append(filled / n_live)
            s = time.perf_counter()
            apply_mask(logits.zero_(), live, bitmask=bitmask)  # what stays on the critical path once masks are filled
            per_step_apply.append(time.perf_counter() - s)
            prefetch = MaskPrefetch(store.vocab_size)
            prefetch.add([(j, t) for j, (t, g) in enumerate(zip(twins, group)) if step < len(g)])
            time.sleep(forward_ms / 1000)  # the forward pass of a GPU: the host thread waits, the cores are free
            prefetch.finish(wait_all=True)
            if n_live == batch:  # per-step figures for full batches only
                serial_step.append(filled)
                overlap_step.append(prefetch.wait_s)
            for c, t, g in zip(cons, twins, group):
                if step < len(g):
                    c.consume(g[step])
                    t.consume(g[step])
    return {
        "tokenizer_vocab": store.vocab_size,
        "store_build_s": round(build_s, 2),
        "compile_s": {k[0]: round(v, 3) for k, v in store.compile_seconds.items()},
        "programs": len(seqs),
        "tokens": len(single),
        "single_thread_us": _stats_us(single),
        "lazy_check_us": _stats_us(lazy),
        "batched": {
            "batch": batch,
            "executor_threads": executor_threads(),
            "per_token_us": _stats_us(per_token),
            "apply_mask_per_step_ms": {"p50": round(_pct(per_step_apply, 0.5) * 1e3, 2),
                                       "p99": round(_pct(per_step_apply, 0.99) * 1e3, 2)},
        },
        "per_step_all_rows_ms": {
            "forward_stand_in_ms": forward_ms,
            "serial": {"p50": round(_pct(serial_step, 0.5) * 1e3, 2), "p99": round(_pct(serial_step, 0.99) * 1e3, 2)},
            "overlapped": {"p50": round(_pct(overlap_step, 0.5) * 1e3, 2), "p99": round(_pct(overlap_step, 0.99) * 1e3, 2)},
        },
    }


def bench_masks(n_files: int, batch: int, forward_ms: float, vocabs: list[str]) -> dict[str, Any]:
    """Mask timing on the 31k corpus BPE and the 100k code BPE (bench/code_bpe.py)."""
    from code_bpe import code_bpe

    out: dict[str, Any] = {"cpu_count": os.cpu_count()}
    for name in vocabs:
        tok = bpe32k() if name == "31k" else code_bpe(100_000)
        out[name] = bench_masks_one(tok, n_files, batch, forward_ms)
        print(f"  {name}: {json.dumps(out[name])}", file=sys.stderr)
    return out


def bench_overlap(batch: int, max_new: int, temperature: float, seconds_cap: float) -> dict[str, Any]:
    """The engine in-process at `batch` concurrent constrained requests: overlap off / auto / all."""
    from elixir_coder_lsp.inference.engine import GrammarStats
    from elixir_coder_lsp.inference.serving import Serving
    from elixir_coder_lsp.inference.types import GenerationRequest, SamplingParams

    mdir = model_dir()
    if not (mdir / "config.json").exists():
        return {"skipped": "no trained model; run bench/train_model.py first"}
    prompts = [p["prompt"] for p in json.loads((mdir / "held_out.json").read_text())][:batch]
    out: dict[str, Any] = {"cpu_count": os.cpu_count(), "batch": batch, "max_new_tokens": max_new}
    for label, path in (("trained", mdir), ("random", random_twin_dir()), ("random-31k", random_31k_dir())):
        engine = Serving.new(str(path), max_batch_size=batch, batch_timeout_ms=0, device="cpu").engine()
        rows: dict[str, Any] = {}
        # modes interleaved over rounds, so the shared machine's load changes hit them alike
        runs: dict[str, list[dict[str, float]]] = {m: [] for m in ("off", "refused", "every", "drain")}
        started = time.perf_counter()
        for rnd in range(3):
            for mode in runs:
                engine.mask_overlap = mode
                engine.grammar_stats = GrammarStats()
                reqs = [GenerationRequest(prompt=p, params=SamplingParams(temperature=temperature, seed=1000 * rnd + i, max_new_tokens=max_new),
                                          constrained=True, id=f"{mode}-{rnd}-{i}") for i, p in enumerate(prompts)]
                t0 = time.perf_counter()
                results = engine.generate(reqs)
                wall = time.perf_counter() - t0
                gs = engine.grammar_stats
                steps = gs.lazy_steps + gs.masked_steps
                runs[mode].append({
                    "tokens_per_s": sum(c.num_tokens for r in results for c in r.completions) / wall,
                    "refused_share": gs.masked_steps / max(1, steps),
                    "refused_from_background": gs.prefetched_used / max(1, gs.masked_steps),
                    # how often a refusal follows a refusal of the same row (the background's order)
                    "refusal_after_refusal": gs.repeat_refusals / max(1, gs.masked_steps),
                    "grammar_ms_per_step_p50": 1e3 * _pct(gs.engine_step_s, 0.5),
                    "grammar_ms_per_step_p99": 1e3 * _pct(gs.engine_step_s, 0.99),
                    "grammar_ms_per_step_mean": 1e3 * statistics.mean(gs.engine_step_s),
                    "background_ms_per_step": 1e3 * gs.prefetch_fill_s / max(1, len(gs.engine_step_s)),
                    "wait_ms_per_step": 1e3 * gs.prefetch_wait_s / max(1, len(gs.engine_step_s)),
                })
            if time.perf_counter() - started > seconds_cap:
                break
        for mode, rs in runs.items():
            rows[mode] = {k: round(statistics.median(r[k] for r in rs), 3) for k in rs[0]}
            rows[mode]["rounds"] = len(rs)
        out[label] = rows
        print(f"  {label}: {json.dumps(rows)}", file=sys.stderr)
    return out


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
    ap.add_argument("part", choices=["masks", "overlap", "quality", "all"], nargs="?", default="all")
    ap.add_argument("--files", type=int, default=40)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--vocabs", default="31k,100k", help="mask part: tokenizers to time (31k corpus BPE, 100k code BPE)")
    ap.add_argument("--forward-ms", type=float, default=5.0, help="mask part: the forward pass the masks overlap with")
    ap.add_argument("--prompts", type=int, default=200)
    ap.add_argument("--max-new", type=int, default=256)
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--seconds", type=float, default=120.0, help="overlap part: stop adding rounds after this long per model")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if args.part in ("masks", "all"):
        results["masks"] = bench_masks(args.files, args.batch, args.forward_ms, [v for v in args.vocabs.split(",") if v])
        print_masks(results["masks"])
    if args.part in ("overlap", "all"):
        key = f"overlap_torch_threads_{args.threads}"  # the forward pass's threads decide what the overlap costs
        results[key] = bench_overlap(args.batch, min(args.max_new, 64) if args.part == "all" else args.max_new,
                                     args.temperature, args.seconds)
        results[key]["torch_threads"] = args.threads
        print_overlap(results[key])
    if args.part in ("quality", "all"):
        results["quality"] = bench_quality(args.prompts, args.max_new, args.batch, args.temperature)
        print(json.dumps({k: v for k, v in results["quality"].items()}, indent=1))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1))
    return 0


def print_masks(r: dict[str, Any]) -> None:
    """The mask table (µs per token; ms per engine step for the overlap rows)."""
    names = [k for k in r if k != "cpu_count"]
    print(f"cores: {r['cpu_count']}; LLExecutor threads: {r[names[0]]['batched']['executor_threads']}")
    print(f"{'':44}" + "".join(f"{n + ' (' + str(r[n]['tokenizer_vocab']) + ')':>24}" for n in names))

    def line(label: str, get: Any) -> None:
        print(f"{label:44}" + "".join(f"{get(r[n]):>24}" for n in names))

    line("check of one token p50 / p99 (µs)", lambda x: f"{x['lazy_check_us']['p50']} / {x['lazy_check_us']['p99']}")
    line("full mask, single thread p50 / p99 (µs)", lambda x: f"{x['single_thread_us']['p50']} / {x['single_thread_us']['p99']}")
    line("full mask, batched, per row p50 / p99 (µs)", lambda x: f"{x['batched']['per_token_us']['p50']} / {x['batched']['per_token_us']['p99']}")
    b = r[names[0]]["batched"]["batch"]
    line(f"apply {b} filled masks per step p50 / p99 (ms)",
         lambda x: f"{x['batched']['apply_mask_per_step_ms']['p50']} / {x['batched']['apply_mask_per_step_ms']['p99']}")
    line(f"{b} rows' masks per step, serial p50 / p99 (ms)",
         lambda x: f"{x['per_step_all_rows_ms']['serial']['p50']} / {x['per_step_all_rows_ms']['serial']['p99']}")
    line(f"  overlapped with a {r[names[0]]['per_step_all_rows_ms']['forward_stand_in_ms']} ms forward p50 / p99 (ms)",
         lambda x: f"{x['per_step_all_rows_ms']['overlapped']['p50']} / {x['per_step_all_rows_ms']['overlapped']['p99']}")


def print_overlap(r: dict[str, Any]) -> None:
    """The engine overlap table."""
    if "skipped" in r:
        print(r["skipped"])
        return
    print(f"cores: {r['cpu_count']}; torch threads: {r['torch_threads']}; {r['batch']} concurrent constrained requests, "
          f"{r['max_new_tokens']} new tokens at most")
    print(f"{'model':10} {'overlap':8} {'tok/s':>8} {'refused':>8} {'from bg':>8} {'grammar ms/step p50/p99/mean':>30} {'bg ms/step':>11}")
    for label in [k for k in r if isinstance(r[k], dict)]:  # the models
        for mode, x in r[label].items():
            g = f"{x['grammar_ms_per_step_p50']:.2f} / {x['grammar_ms_per_step_p99']:.2f} / {x['grammar_ms_per_step_mean']:.2f}"
            print(f"{label:10} {mode:8} {x['tokens_per_s']:>8.1f} {x['refused_share']:>8.1%} {x['refused_from_background']:>8.1%} {g:>30} {x['background_ms_per_step']:>11.2f}")


if __name__ == "__main__":
    sys.exit(main())
