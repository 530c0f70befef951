"""Train a small Llama-style model on the Elixir standard library for a few minutes (cached).

Usage: python bench/train_model.py [--seconds 240] [--force]

Training examples are the stdlib's top-level functions, each as "# name/arity\n<def ... end>\n<eos>", so
a prompt "# name/arity\n" asks for one whole function (what bench/constraints.py measures). The checkpoint
(model + tokenizer) goes to $XDG_CACHE_HOME/elixir-coder/models/elixir-small; later benchmarks and the demo
reuse it when present.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))

from grammar_coverage import cache_dir, corpus_files, fetch_corpus  # noqa: E402

_DEF_START = re.compile(r"^(  )(defp?|defmacrop?) ([a-z_][a-zA-Z0-9_?!]*)(\(([^)]*)\))?")


def model_dir() -> Path:
    """Where the trained checkpoint lives."""
    return cache_dir().parent / "models" / "elixir-small"


def random_twin_dir() -> Path:
    """An untrained model with the trained one's shape and tokenizer (built once): the "random model" of
    the serving and overlap benchmarks, so both models mask the same vocabulary."""
    out = model_dir().parent / "elixir-small-random"
    if (out / "config.json").exists():
        return out
    src = model_dir()
    if not (src / "config.json").exists():
        raise SystemExit("no trained model; run bench/train_model.py first")
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(1)
    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(src))
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(src).save_pretrained(out)
    return out


def _arity(args: str | None) -> int:
    if not args or not args.strip():
        return 0
    depth, n = 0, 1
    for ch in args:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            n += 1
    return n


def extract_functions(text: str) -> list[tuple[str, str]]:
    """(header comment, dedented function text) for each module-level def with a do...end body."""
    lines = text.split("\n")
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(lines):
        m = _DEF_START.match(lines[i])
        if m and lines[i].rstrip().endswith(" do"):
            j = i + 1
            while j < len(lines) and lines[j] != "  end":
                if lines[j] and not lines[j].startswith("   ") and not lines[j].startswith("  #"):
                    break
                j += 1
            if j < len(lines) and lines[j] == "  end" and j - i < 60:
                body = "\n".join(line[2:] if line.startswith("  ") else line for line in lines[i : j + 1])
                out.append((f"# {m.group(3)}/{_arity(m.group(5))}\n", body + "\n"))
                i = j + 1
                continue
        i += 1
    return out


def corpus_functions() -> list[tuple[str, str]]:
    """All extracted functions of the stdlib corpus, in a fixed order."""
    lib = fetch_corpus()
    funcs: list[tuple[str, str]] = []
    for path in corpus_files(lib):
        funcs.extend(extract_functions(path.read_text(encoding="utf-8", errors="replace")))
    return funcs


def train_tokenizer(texts: list[str], vocab_size: int, path: Path) -> None:
    """A byte-level BPE with `<eos>` trained on texts, saved as a tokenizer.json."""
    from elixir_coder_lsp.inference.tiny_model import train_byte_bpe

    tok = train_byte_bpe(texts, vocab_size, ["<eos>"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tok.save(str(path))


def main(argv: list[str] | None = None) -> int:
    """Train (or reuse) the small model; print its figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=240.0)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args(argv)
    out = model_dir()
    if (out / "config.json").exists() and not args.force:
        print(f"model already trained: {out}")
        return 0

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    funcs = corpus_functions()
    random.Random(0).shuffle(funcs)
    held_out = funcs[:300]
    train = funcs[300:]
    texts = [h + b for h, b in train]
    train_tokenizer(texts, args.vocab, out / "tokenizer.json")
    tok = PreTrainedTokenizerFast(tokenizer_file=str(out / "tokenizer.json"), eos_token="<eos>", pad_token="<eos>")
    seq_len = 256
    ids: list[int] = []
    for t in texts:
        ids.extend(tok(t, add_special_tokens=False).input_ids + [tok.eos_token_id])
    data = torch.tensor(ids, dtype=torch.long)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=256,
        intermediate_size=704,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=1024,
        bos_token_id=tok.eos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.eos_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    batch = 16
    t0 = time.perf_counter()
    step, loss_v = 0, float("nan")
    model.train()
    while time.perf_counter() - t0 < args.seconds:
        starts = torch.randint(0, len(data) - seq_len - 1, (batch,))
        x = torch.stack([data[s : s + seq_len] for s in starts])
        lr = 1e-3 * min(1.0, (step + 1) / 50)
        for g in opt.param_groups:
            g["lr"] = lr
        loss = model(input_ids=x, labels=x).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        loss_v = float(loss)
        if step % 20 == 0:
            print(f"step {step} loss {loss_v:.3f} ({time.perf_counter() - t0:.0f}s)", file=sys.stderr)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    (out / "held_out.json").write_text(json.dumps([{"prompt": h, "reference": b} for h, b in held_out]))
    summary = {"steps": step, "final_loss": round(loss_v, 3), "train_tokens": len(ids), "functions": len(funcs)}
    (out / "training.json").write_text(json.dumps(summary))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
