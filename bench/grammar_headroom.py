"""How far can the grammar's mask cost go down? Earley items over the mask benchmark's replay, by source.

A mask's time follows its Earley items (llguidance documents ~20k items per ms), so this counts items,
which are exact and free of the machine's noise. It replays the programs `bench/constraints.py masks`
times (held-out stdlib functions on the 31k corpus BPE) byte by byte, computes the mask at each of the
real tokenizer's token boundaries and reads the items from llguidance's step statistics, for:
- the grammar with the whole vocabulary (the same steps as the mask benchmark);
- the vocabulary without one family of tokens (those matching a regex; the 256 single bytes always
  stay, so the replay is unchanged): where the items come from;
- the grammar without one family of the language (a named edit of grammars/elixir.lark that makes it
  stricter): an upper bound on what any redesign of that family could save. A program that uses the
  family stops where it first appears, so compare items per step (mean and p50), not totals.

With --time, each grammar's full masks are also timed on the real tokenizer, paired step by step with
the whole grammar's (every program replayed under each grammar in turn), to check that time follows items.

Usage: python bench/grammar_headroom.py [--files 40] [--time]
Results go to bench/results/grammar_headroom.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))
sys.path.insert(0, str(_HERE.parent))

from grammar_items import STEP_STATS  # noqa: E402

RESULTS = _HERE / "results" / "grammar_headroom.json"
ITEMS_PER_MS = 20_000  # llguidance's ParserLimits.step_max_items documentation: "Speed: 20k/ms"

# name -> regex over a token's bytes (tokens of two or more bytes only)
TOKEN_FAMILIES = {
    "starting with `(`": r"^\(",
    "starting with a blank and punctuation (` [`, ` =`, ` \"`)": r"^ [^a-zA-Z0-9_ ]",
    "starting with other punctuation (`)`, `,`, `.`, `[`, `:`)": r"^[^a-zA-Z0-9_ (]",
    "starting with a word character": r"^[a-zA-Z0-9_]",
}

# name -> [(text in grammars/elixir.lark, replacement)]; each edit only removes a form of the language
LANGUAGE_FAMILIES = {
    "step ranges (`a..b//c`)": [(
        "chain: _op_units _last_unit\n     | stepped _low_tail?\n     | _op_units unit _op_low stepped _low_tail?",
        "chain: _op_units _last_unit",
    )],
    "prefix operators and captures (`-x`, `!x`, `&f/1`, `^x`, `1..n`)": [(
        "unit_nd: _post | literal | CAPTURE_ARG _cap_sfx? | AMP cap_ws | PFX_SAFE unit_nd | PFX_SYM _unit_y"
        " | INT_RANGE _nlo _unit_r",
        "unit_nd: _post | literal",
    )],
    "interpolated strings, charlists, heredocs and sigils": [(
        "literal: LIT_ATOMIC | TILDE _sigil\n       | STRQ_BEGIN _interp (STR_MID _interp)* STR_END\n"
        "       | CL_BEGIN _interp (CL_MID _interp)* CL_END\n       | HD_BEGIN _interp (HD_MID _interp)* HD_END",
        "literal: LIT_ATOMIC",
    )],
    "do-block calls as operands (`x = if a do b end`)": [(
        "unit: unit_nd | IDENT do_block | call_paren do_block | _post DOT IDENT_PAREN _call_args RPAREN do_block",
        "unit: unit_nd",
    )],
    "parenthesised clauses (`(a -> b)`)": [(
        "       | LPAREN _sepo (_pstmts _sepo | _pstab _sepo)? RPAREN\n       | FN",
        "       | LPAREN _sepo (_pstmts _sepo)? RPAREN\n       | FN",
    )],
}
ALL_FAMILIES = "all five of these"


def _child(jobs_file: str) -> None:
    """Each job: (label, grammar file, token regex or ""); replay every program, one mask per token."""
    import llguidance as llg

    from constraints import bpe32k
    from elixir_coder_lsp.inference.constraints import _ll_tokenizer

    spec = json.loads(Path(jobs_file).read_text(encoding="utf-8"))
    tok = bpe32k()
    real = _ll_tokenizer(tok)
    texts = [real.decode_bytes([i]) for i in range(real.vocab_size)]
    programs = [[real.decode_bytes([t]) for t in tok(p, add_special_tokens=False).input_ids] for p in spec["programs"]]
    for label, grammar_file, family in spec["jobs"]:
        pattern = re.compile(family.encode()) if family else None
        tokens: list[bytes] = []
        byte_id: dict[int, int] = {}
        for i, t in enumerate(texts):
            if real.is_special_token(i):
                tokens.append(b"\xff\xff<special %d>" % i)
            elif len(t) == 1:
                byte_id.setdefault(t[0], i)
                tokens.append(t)
            else:  # a left-out token keeps its id but can never be lexed
                tokens.append(b"\xff\xfe%d" % i if pattern is not None and pattern.search(t) else t)
        for b in range(256):
            if b not in byte_id:
                byte_id[b] = len(tokens)
                tokens.append(bytes([b]))

        class _Tokens:
            eos_token_id = real.eos_token
            bos_token_id = None
            special_token_ids = [real.eos_token]

            def __call__(self, data: bytes) -> list[int]:
                return [byte_id[b] for b in data]

        wrapper = _Tokens()
        wrapper.tokens = tokens  # type: ignore[attr-defined]
        lt = llg.LLTokenizer(llg.TokenizerWrapper(wrapper))
        grammar = Path(grammar_file).read_text(encoding="utf-8")
        for pieces in programs:
            m = llg.LLMatcher(lt, grammar, log_level=2, limits=llg.LLParserLimits(step_max_items=100_000_000))
            for piece in pieces:
                m.compute_bitmask()
                print("@@STEP", flush=True)
                if not all(m.consume_token(byte_id[b]) for b in piece):
                    break  # the stricter grammar stops this program here
        print("@@DONE " + json.dumps(label), flush=True)


def _items(programs: list[str], jobs: list[tuple[str, str, str]]) -> dict[str, list[int]]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "jobs.json"
        path.write_text(json.dumps({"programs": programs, "jobs": jobs}), encoding="utf-8")
        out = subprocess.run([sys.executable, __file__, "--child", str(path)], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, check=False, env={**os.environ, "OMP_NUM_THREADS": "1"})
    res: dict[str, list[int]] = {}
    steps: list[int] = []
    last: int | None = None
    for line in out.stdout.splitlines():
        m = STEP_STATS.search(line)
        if m:
            last = int(m.group(1))
        elif line.startswith("@@STEP"):
            steps.append(last if last is not None else 0)  # no statistics: a cached mask, no items
            last = None
        elif line.startswith("@@DONE "):
            res[json.loads(line[7:])] = steps
            steps = []
    if len(res) != len(jobs):
        raise RuntimeError("missing step statistics:\n" + out.stdout[-2000:])
    return res


def _summary(steps: list[int], base: dict[str, Any] | None) -> dict[str, Any]:
    xs = sorted(steps)
    s = {"steps": len(xs), "total": sum(xs), "mean": round(statistics.mean(xs)), "p50": xs[len(xs) // 2],
         "p99": xs[min(len(xs) - 1, int(0.99 * len(xs)))]}
    if base is not None:
        s["mean_vs_whole"] = round(s["mean"] / base["mean"] - 1, 3)
        s["p50_vs_whole"] = round(s["p50"] / base["p50"] - 1, 3)
    return s


def variant_grammars() -> dict[str, str]:
    """The grammar's text ("whole") and, per language family, the text without that family."""
    from elixir_coder_lsp.inference.constraints import GRAMMAR_PATH

    whole = GRAMMAR_PATH.read_text(encoding="utf-8")
    out = {"whole": whole}
    families = {**LANGUAGE_FAMILIES, ALL_FAMILIES: [e for edits in LANGUAGE_FAMILIES.values() for e in edits]}
    for name, edits in families.items():
        text = whole
        for old, new in edits:
            if old not in text:
                raise RuntimeError(f"the grammar changed: update the edit for {name!r}")
            text = text.replace(old, new)
        out[name] = text
    return out


def measure(n_files: int) -> dict[str, Any]:
    """Items per step for the grammar as is, without each token family, and without each language family."""
    from constraints import mask_programs

    programs = mask_programs(n_files)
    grammars = variant_grammars()
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for i, (name, text) in enumerate(grammars.items()):
            files[name] = Path(tmp) / f"{i}.lark"
            files[name].write_text(text, encoding="utf-8")
        jobs = [("whole", str(files["whole"]), "")]
        jobs += [(f"tokens|{name}", str(files["whole"]), rx) for name, rx in TOKEN_FAMILIES.items()]
        jobs += [(f"language|{name}", str(files[name]), "") for name in grammars if name != "whole"]
        items = _items(programs, jobs)
    whole = _summary(items["whole"], None)
    return {
        "tokenizer_vocab": "31k corpus BPE",
        "programs": len(programs),
        "whole": whole,
        "p50_ms_at_documented_speed": round(whole["p50"] / ITEMS_PER_MS, 2),
        "without_tokens": {n: _summary(items[f"tokens|{n}"], whole) for n in TOKEN_FAMILIES},
        "without_language": {n: _summary(items[f"language|{n}"], whole) for n in grammars if n != "whole"},
    }


def paired_time(n_files: int, grammars: dict[str, str], reps: int = 2) -> dict[str, Any]:
    """Mask time of each grammar against the whole one, step by step on the real 31k tokenizer.

    Each program is replayed under every grammar in turn, so all see the same machine state; a step's
    time under a variant is divided by the same step's under the whole grammar (steps both reach).
    """
    import time

    import llguidance as llg
    import torch

    from constraints import bpe32k, mask_programs

    from elixir_coder_lsp.inference.constraints import _ll_tokenizer

    tok = bpe32k()
    lt = _ll_tokenizer(tok)
    seqs = [tok(p, add_special_tokens=False).input_ids for p in mask_programs(n_files)]
    limits = llg.LLParserLimits(step_max_items=100_000_000)
    pristine = {}
    for name, text in grammars.items():
        m = llg.LLMatcher(lt, text, limits=limits, log_level=0)
        m.compute_bitmask()  # the first mask comes with every copy, as in the product's mask store
        pristine[name] = m
    words = (lt.vocab_size + 31) // 32
    buf = torch.empty((1, words), dtype=torch.int32)
    times: dict[str, list[float]] = {name: [] for name in grammars}
    for _ in range(reps):
        for ids in seqs:
            per: dict[str, list[float]] = {}
            for name, m0 in pristine.items():
                m, ts = m0.deep_copy(), []
                for t in ids:
                    s = time.perf_counter()
                    m.unsafe_compute_mask_ptr(buf.data_ptr(), words * 4)
                    ts.append(time.perf_counter() - s)
                    if not m.consume_token(t):
                        break
                per[name] = ts
            n = min(len(ts) for ts in per.values())
            for name, ts in per.items():
                times[name].extend(ts[:n])
    base = times["whole"]
    out = {}
    for name, ts in times.items():
        ratios = sorted(b / a for a, b in zip(base, ts))
        out[name] = {"p50_us": round(sorted(ts)[len(ts) // 2] * 1e6), "mean_us": round(statistics.mean(ts) * 1e6),
                     "median_step_ratio": round(ratios[len(ratios) // 2], 3)}
    return out


def main(argv: list[str] | None = None) -> int:
    """Measure, print a table and write bench/results/grammar_headroom.json."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        _child(argv[1])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=40)
    ap.add_argument("--time", action="store_true", help="also time each grammar's masks, paired step by step")
    args = ap.parse_args(argv)
    res = measure(args.files)
    if args.time:
        res["cpu_count"] = os.cpu_count()
        res["paired_time"] = paired_time(args.files, variant_grammars())
    w = res["whole"]
    print(f"{res['programs']} programs, {w['steps']} steps; items per step mean {w['mean']:,}, p50 {w['p50']:,}, "
          f"p99 {w['p99']:,} (p50 at llguidance's documented {ITEMS_PER_MS:,} items/ms: {res['p50_ms_at_documented_speed']} ms)")
    for part, title in (("without_tokens", "vocabulary without tokens"), ("without_language", "grammar without")):
        print(title)
        for name, s in res[part].items():
            print(f"  {name:66} mean {s['mean']:>6,} ({s['mean_vs_whole']:+.0%})  p50 {s['p50']:>6,} ({s['p50_vs_whole']:+.0%})"
                  f"  steps {s['steps']}")
    for name, t in res.get("paired_time", {}).items():
        print(f"  time {name:61} p50 {t['p50_us']:>5} µs, mean {t['mean_us']:>5} µs; per step vs whole x{t['median_step_ratio']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
