"""A large byte-level BPE trained on code, standing in for a real code model's tokenizer.

Real tokenizers cannot be downloaded here, and a small one hides the limits a real one hits: with
~150k tokens many tokens span several lexemes (`.map(`, `),\n`, ` do\n`), and every lexeme boundary
inside a token costs the grammar a parser row per mask. This trains a ≥ 100k BPE on local code: the
Elixir source package (the grammar-coverage corpus) plus the Python standard library of the running
interpreter, with the pre-tokenizer split that Qwen2-style code models use (a letter run may carry
one leading punctuation character, punctuation runs may carry their newlines), so tokens look like
those of a real code model. Built once and cached under $XDG_CACHE_HOME/elixir-coder/models/.

Usage: python bench/code_bpe.py [--vocab 100000]   (prints the cache path and a few long tokens)
"""

from __future__ import annotations

import argparse
import sys
import sysconfig
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))
sys.path.insert(0, str(_HERE.parent))

from grammar_coverage import cache_dir, fetch_corpus  # noqa: E402

# Qwen2's pre-tokenizer pattern (public in its tokenizer.json): the split that decides which
# character sequences a merge may ever join.
SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
EOS = "<eos>"
DEFAULT_VOCAB = 100_000


def corpus_texts(max_python_bytes: int = 24_000_000) -> list[str]:
    """Elixir source (every .ex/.exs/.erl of the source package) plus Python stdlib modules."""
    root = fetch_corpus().parent
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(root.rglob("*"))
             if p.suffix in (".ex", ".exs", ".erl") and p.is_file()]
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    total = 0
    for p in sorted(stdlib.rglob("*.py")):
        if "site-packages" in p.parts or total > max_python_bytes:
            continue
        try:
            text = p.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        texts.append(text)
        total += len(text)
    return texts


def tokenizer_path(vocab_size: int = DEFAULT_VOCAB) -> Path:
    """Where the trained tokenizer.json for this vocabulary size is cached."""
    return cache_dir().parent / "models" / f"code-bpe-{vocab_size // 1000}k" / "tokenizer.json"


def train(vocab_size: int = DEFAULT_VOCAB) -> Path:
    """Train (once) and cache the code BPE; return its tokenizer.json path."""
    path = tokenizer_path(vocab_size)
    if path.exists():
        return path
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus_texts(), trainer=trainer)
    if tok.get_vocab_size() < vocab_size * 0.95:
        raise RuntimeError(f"corpus too small: {tok.get_vocab_size()} tokens for a {vocab_size} vocabulary")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tok.save(str(tmp))
    tmp.replace(path)
    return path


def code_bpe(vocab_size: int = DEFAULT_VOCAB) -> Any:
    """The cached code BPE as a transformers fast tokenizer (trained on first use)."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_file=str(train(vocab_size)), eos_token=EOS)


def main(argv: list[str] | None = None) -> int:
    """Train or reuse the tokenizer; print where it is and what its tokens look like."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab", type=int, default=DEFAULT_VOCAB)
    args = ap.parse_args(argv)
    import time

    t0 = time.perf_counter()
    tok = code_bpe(args.vocab)
    print(f"{tokenizer_path(args.vocab)}: {len(tok)} tokens ({time.perf_counter() - t0:.1f} s)")
    sample = 'defmodule Shop.Cart do\n  def total(%{items: items}) do\n    Enum.map(items, & &1.price)\n  end\nend\n'
    print([tok.decode([i]) for i in tok(sample).input_ids])
    return 0


if __name__ == "__main__":
    sys.exit(main())
