"""A fresh worker's first constrained requests: does the first batch cost what the later ones do?

Each run is a fresh process, as a restarted worker is: it loads the model (default: the random model
over the 31k corpus BPE of bench/constraints.py), runs `Serving.prepare_grammar()` as the worker does
in the background after loading, then times three batches of 4 concurrent grammar-constrained requests
(16 new tokens, entry rule `expr_seq`). A one-time cost left inside the first engine steps (an import,
a vocabulary table) shows as a first batch slower than the second and third. It also times each part
of prepare_grammar on a realistic vocabulary (the 100k code BPE of bench/code_bpe.py).

Usage: python bench/first_request.py [--runs 2] [--model DIR] [--parts-vocab 100000]
Results go to bench/results/first_request.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
RESULTS = _HERE / "results" / "first_request.json"


def _child(model: str) -> None:
    sys.path.insert(0, str(_HERE.parent))
    from elixir_coder_lsp.inference.serving import Serving
    from elixir_coder_lsp.inference.types import GenerationRequest, SamplingParams

    serving = Serving.new(model, model, max_batch_size=8, batch_timeout_ms=0, num_threads=1)
    engine = serving.engine()
    serving.prepare_grammar()
    batches = []
    for b in range(3):
        reqs = [GenerationRequest(prompt="def f(x) do\n", constrained=True, entry_rule="expr_seq",
                                  params=SamplingParams(temperature=0.9, seed=10 * b + i, max_new_tokens=16))
                for i in range(4)]
        t0 = time.perf_counter()
        engine.generate(reqs)
        batches.append(round(time.perf_counter() - t0, 3))
    print("@@" + json.dumps(batches), flush=True)


def prepare_parts(vocab: int) -> dict[str, float]:
    """Seconds each part of Serving.prepare_grammar takes for the code BPE of bench/code_bpe.py (no model)."""
    sys.path.insert(0, str(_HERE))
    sys.path.insert(0, str(_HERE.parent))
    from code_bpe import code_bpe

    from elixir_coder_lsp.inference.constraints import build_mask_store
    from elixir_coder_lsp.inference.steering_vocab import SteeringVocab

    tok = code_bpe(vocab)
    parts: dict[str, float] = {}
    t0 = time.perf_counter()
    store = build_mask_store(tok)
    parts["llguidance tokenizer"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    store.constraint("start")
    parts["whole-file grammar and its first mask"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    texts = store.vocab.texts
    parts["decoded vocabulary"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    SteeringVocab(texts, store.eos_tokens)
    parts["steering facts"] = time.perf_counter() - t0
    return {k: round(v, 3) for k, v in parts.items()}


def main(argv: list[str] | None = None) -> int:
    """Run fresh processes; print and save each run's three batch times."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        _child(argv[1])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--model", default="")
    ap.add_argument("--parts-vocab", type=int, default=100_000, help="also time prepare_grammar's parts on this code BPE (0: skip)")
    args = ap.parse_args(argv)
    model = args.model
    if not model:
        sys.path.insert(0, str(_HERE))
        sys.path.insert(0, str(_HERE.parent))
        from constraints import random_31k_dir

        model = str(random_31k_dir())
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    runs = []
    for _ in range(args.runs):
        out = subprocess.run([sys.executable, __file__, "--child", model], capture_output=True, text=True, env=env,
                             check=True)
        runs.append(json.loads(next(line for line in out.stdout.splitlines() if line.startswith("@@"))[2:]))
        print("batches of 4 constrained requests (s): first {}, second {}, third {}".format(*runs[-1]))
    res = {"model": model, "cpu_count": os.cpu_count(), "runs": runs}
    if args.parts_vocab:
        res["prepare_parts_s"] = prepare_parts(args.parts_vocab)
        print(f"prepare_grammar's parts on the {args.parts_vocab:,}-token code BPE (s): "
              + ", ".join(f"{k} {v}" for k, v in res["prepare_parts_s"].items()))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
