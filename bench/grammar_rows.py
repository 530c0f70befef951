"""Where a mask's Earley items come from: parser rows per token class, and the cost of one row.

llguidance builds one parser row each time the token-trie walk crosses a lexeme boundary inside a
token (shared by every token with that prefix), and a mask step's item count is the sum over those
rows. So a step's cost is (rows) x (items per row): rows grow with the tokens that hold several
lexemes (`()),`, ` [`, `"#{`), items per row with what the grammar predicts or completes there.

This replays named grammar states byte by byte and measures, with llguidance's own step statistics:
- the step's items with the whole vocabulary of the code BPE (bench/code_bpe.py);
- the items added by each class of tokens (same first character; ` ` classes by their first two),
  each measured alone on top of the 256 single bytes, so the classes show where the rows are;
- the items added by a single probe token (one or two rows: after `(`, after an identifier, ...).

Usage: python bench/grammar_rows.py [--vocab 100000] [--grammar grammars/elixir.lark] [--top 12]
Results go to bench/results/grammar_rows.json. See bench/grammar_items.py for the per-file replay.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))
sys.path.insert(0, str(_HERE.parent))

from grammar_items import STEP_STATS  # noqa: E402

RESULTS = _HERE / "results" / "grammar_rows.json"
_BODY = "defmodule Foo do\n  def f(x, y) do\n    "

# name -> text before the mask (replayed byte by byte; the mask is for what follows)
STATES = {
    "file start": "",
    "statement start": _BODY,
    "after `foo(`": _BODY + "foo(",
    "after `x = [`": _BODY + "x = [",
    "identifier in call args": _BODY + "if is_integer(load",
    "after an identifier": _BODY + "load",
}
# probe tokens: what one row costs at the statement start (the single bytes alone build no such row)
PROBES = {
    "row after `(`": "((",
    "row after `[`": "[[",
    "row after `%{`": "%{%",
    "row after an identifier": "x.",
    "rows after `(` and `)`": "()",
    "row after `x =`": "x =(",
}


def _vocab(n: int) -> list[bytes]:
    from code_bpe import code_bpe

    tok = code_bpe(n)
    return [tok.convert_tokens_to_string([tok.convert_ids_to_tokens(i)]).encode("utf-8") for i in range(len(tok))]


def _class_of(token: bytes) -> str | None:
    if len(token) < 2:
        return None
    head = token[:2] if token[:1] == b" " else token[:1]
    text = head.decode("utf-8", errors="replace")
    if text.strip(" ").isalnum() or text.strip(" ") in {"", "\ufffd"}:
        return "words" if text.strip(" ").isalnum() else None
    return repr(text)


def _child(grammar_file: str, jobs_file: str) -> None:
    """Each job: (label, prefix, extra tokens); print the label after llguidance logs the step."""
    import llguidance as llg

    grammar = Path(grammar_file).read_text(encoding="utf-8")
    for label, prefix, extra in json.loads(Path(jobs_file).read_text(encoding="utf-8")):

        class _Tokens:
            eos_token_id = 256
            bos_token_id = None
            tokens = [bytes([i]) for i in range(256)] + [b"<eos>"] + [bytes.fromhex(t) for t in extra]
            special_token_ids = [256]

            def __call__(self, data: bytes) -> list[int]:
                return list(data)

        lt = llg.LLTokenizer(llg.TokenizerWrapper(_Tokens()), slices=[])
        interp = llg.LLInterpreter(lt, grammar, log_level=2, limits=llg.LLParserLimits(step_max_items=100_000_000))
        interp.start_without_prompt()
        data, i = prefix.encode("utf-8"), 0
        while i < len(data):  # no masks on the way: llguidance caches a mask per lexer state
            if interp.validate_tokens_raw([data[i]]) < 1:
                raise SystemExit(f"the grammar rejects {prefix[: i + 1]!r}")
            _, forced = interp.commit_token(data[i])
            i += max(1, len(forced or []))
        print("@@MASK", flush=True)
        interp.compute_mask()
        print("@@DONE " + json.dumps(label), flush=True)


def _run(grammar_file: str, jobs: list[tuple[str, str, list[bytes]]]) -> dict[str, int]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "jobs.json"
        path.write_text(json.dumps([(label, p, [t.hex() for t in extra]) for label, p, extra in jobs]))
        out = subprocess.run([sys.executable, __file__, "--child", grammar_file, str(path)], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, check=False, env={**os.environ, "OMP_NUM_THREADS": "1"})
    items: dict[str, int] = {}
    armed, last = False, None
    for line in out.stdout.splitlines():
        m = STEP_STATS.search(line)
        if m and armed:
            last = int(m.group(1))
        elif line.startswith("@@MASK"):
            armed, last = True, None
        elif line.startswith("@@DONE") and last is not None:
            items[json.loads(line[7:])] = last
            armed = False
    if len(items) != len(jobs):
        raise RuntimeError("missing step statistics:\n" + out.stdout[-2000:])
    return items


def measure(grammar_file: str, vocab_size: int, top: int) -> dict[str, Any]:
    """Items per state with the whole vocabulary, split by token class, and single-row probe costs."""
    vocab = _vocab(vocab_size)
    classes: dict[str, list[bytes]] = {}
    for t in vocab:
        c = _class_of(t)
        if c:
            classes.setdefault(c, []).append(t)
    big = [c for c, n in Counter({c: len(ts) for c, ts in classes.items()}).most_common() if n >= 20]
    jobs: list[tuple[str, str, list[bytes]]] = []
    for name, prefix in STATES.items():
        jobs.append((f"{name}|bytes", prefix, []))
        jobs.append((f"{name}|all", prefix, vocab))
        jobs += [(f"{name}|{c}", prefix, classes[c]) for c in big]
    jobs += [(f"probe|{name}", _BODY, [tok.encode()]) for name, tok in PROBES.items()]
    jobs.append(("probe|bytes", _BODY, []))
    items = _run(grammar_file, jobs)
    states = {}
    for name in STATES:
        base = items[f"{name}|bytes"]
        by_class = sorted(((items[f"{name}|{c}"] - base, c, len(classes[c])) for c in big), reverse=True)
        states[name] = {
            "items": items[f"{name}|all"],
            "within_default_limit": items[f"{name}|all"] <= 50_000,
            "by_token_class": [{"class": c, "tokens": n, "items": d} for d, c, n in by_class[:top] if d > 0],
        }
    probes = {name: items[f"probe|{name}"] - items["probe|bytes"] for name in PROBES}
    return {"grammar": grammar_file, "tokenizer_vocab": len(vocab), "states": states, "row_costs_at_statement_start": probes}


def main(argv: list[str] | None = None) -> int:
    """Measure, print a table and write bench/results/grammar_rows.json."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        _child(argv[1], argv[2])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab", type=int, default=100_000)
    ap.add_argument("--grammar", default=str(_HERE.parent / "grammars" / "elixir.lark"))
    ap.add_argument("--top", type=int, default=12)
    args = ap.parse_args(argv)
    res = measure(args.grammar, args.vocab, args.top)
    for name, st in res["states"].items():
        classes = ", ".join(f"{c['class']} {c['items']:,}" for c in st["by_token_class"][:8])
        print(f"{name:26} {st['items']:>7,} items   {classes}")
    print("row costs at a statement start: " + ", ".join(f"{k} {v}" for k, v in res["row_costs_at_statement_start"].items()))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
