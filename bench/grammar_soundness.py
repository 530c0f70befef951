"""Grammar soundness: sample programs from the grammar with a seeded random "model" and parse them all.

Usage: python bench/grammar_soundness.py [--n 2000] [--max-tokens 96] [--rule start] [--seed 0]

Every sample goes through the real masking path (`apply_mask` on a batch of random logits, then
`SequenceConstraint.consume`); completed samples (EOS while the grammar accepts) are parsed by Elixir's
`Code.string_to_quoted/2`. Soundness means every completed sample parses.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
if str(_HERE.parent) not in sys.path:
    sys.path.insert(0, str(_HERE.parent))

# A small Elixir text to train the test tokenizer on: enough for a few hundred merges.
TRAINING_TEXT = r'''
defmodule Example.Accounts do
  @moduledoc """
  Accounts and users.
  """
  alias Example.{Repo, User}
  import Ecto.Query, only: [from: 2]
  @default_limit 10

  @spec list_users(keyword()) :: [User.t()]
  def list_users(opts \\ []) when is_list(opts) do
    limit = Keyword.get(opts, :limit, @default_limit)
    from(u in User, limit: ^limit) |> Repo.all()
  end

  defp normalize(%{"name" => name} = params), do: %{params | "name" => String.trim(name)}
  defp normalize(params), do: params

  def fetch(id) do
    case Repo.get(User, id) do
      nil -> {:error, :not_found}
      %User{active: true} = user -> {:ok, user}
      _ -> {:error, :inactive}
    end
  end

  def sum(list), do: Enum.reduce(list, 0, fn x, acc -> x + acc end)
  def squares(n), do: for(i <- 1..n, do: i * i)
  def greet(name), do: "Hello, #{name}!"
  def bits(<<a::8, rest::binary>>), do: {a, rest}
  def check(x) do
    cond do
      x > 10 and x < 100 -> :medium
      x >= 100 -> :large
      true -> :small
    end
  end
  def safe(f) do
    try do
      f.()
    rescue
      e in ArgumentError -> {:error, e}
    after
      :ok
    end
  end
  def wait do
    receive do
      {:msg, m} -> m
    after
      1_000 -> :timeout
    end
  end
  def pipeline(xs), do: xs |> Enum.map(&(&1 * 2)) |> Enum.filter(&is_integer/1) |> Enum.sum()
  def with_example(a) do
    with {:ok, b} <- fetch(a), true <- b != nil do
      {:ok, [b | []], 'chars', ~r/ab+c/i, ?a, 1.5e3, 0x1F}
    else
      _ -> :error
    end
  end
  def atoms(s), do: {String.to_existing_atom(s), String.upcase(s), List.to_string('ab')}
  def term(bin), do: :erlang.binary_to_term(bin, [:safe])
  def show(x), do: inspect(x, pretty: true)
end
'''


def build_test_tokenizer(vocab_size: int = 600) -> Any:
    """A small byte-level BPE (HF fast tokenizer with an `<eos>` token) trained on TRAINING_TEXT."""
    from transformers import PreTrainedTokenizerFast

    from elixir_coder_lsp.inference.tiny_model import train_byte_bpe

    tok = train_byte_bpe([TRAINING_TEXT] * 4, vocab_size, ["<eos>"])
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>")


def _closing_bias(store: Any) -> Any:
    """Per-token logit bonus for tokens that close constructs (keeps random programs short)."""
    import torch

    texts = store.vocab.texts
    bias = torch.zeros(store.vocab_size)
    for i, t in enumerate(texts):
        if any(c in t for c in ")]}>\"'") or "end" in t or "\n" in t:
            bias[i] = 1.0
    return bias


def sample_programs(
    tokenizer: Any,
    n: int,
    *,
    entry_rule: str = "start",
    max_tokens: int = 96,
    batch_size: int = 64,
    seed: int = 0,
    monitors: dict[str, bool] | None = None,
) -> list[dict[str, Any]]:
    """Sample n programs through apply_mask + consume with seeded random logits.

    Returns one record per sample: text, token_ids, finish ("stop" = EOS while the grammar accepts,
    "length" = budget ran out, "error" = a sampled token was rejected: a masking bug).
    """
    import torch

    from elixir_coder_lsp.inference.constraints import apply_mask, build_mask_store

    store = build_mask_store(tokenizer)
    eos = store.eos_tokens[0]
    gen = torch.Generator().manual_seed(seed)
    bias = _closing_bias(store)
    out: list[dict[str, Any]] = []
    while len(out) < n:
        b = min(batch_size, n - len(out))
        cons = [store.constraint(entry_rule, monitors=monitors) for _ in range(b)]
        ids: list[list[int]] = [[] for _ in range(b)]
        finish: list[str | None] = [None] * b
        for step in range(max_tokens):
            live = [i for i in range(b) if finish[i] is None]
            if not live:
                break
            logits = torch.randn(b, store.vocab_size + 7, generator=gen)
            # a growing pull towards closing tokens and EOS so most samples finish within the budget
            logits[:, : store.vocab_size] += bias * (0.5 + 4.0 * step / max_tokens)
            logits[:, eos] += 2.0 + 8.0 * step / max_tokens
            row_cons = [cons[i] if finish[i] is None else None for i in range(b)]
            apply_mask(logits, row_cons)
            probs = torch.softmax(logits, dim=-1)
            picks = torch.multinomial(probs, 1, generator=gen).squeeze(1).tolist()
            for i in live:
                tok = picks[i]
                if not cons[i].consume(tok):
                    finish[i] = "error"
                    continue
                if tok == eos:
                    finish[i] = "stop"
                    continue
                ids[i].append(tok)
                if cons[i].is_finished():
                    finish[i] = "stop" if cons[i].can_stop() else "error"
        for i in range(b):
            out.append(
                {
                    "text": cons[i].text,
                    "token_ids": ids[i],
                    "finish": finish[i] or "length",
                    "error": cons[i].error,
                }
            )
    return out


_PARSE_SCRIPT = r"""
[dir] = System.argv()
# one line per file whatever happens: an unexpected error shape or a raise must not end the run
one_line = fn term -> String.replace(inspect(term), ["\n", "\t"], " ") end
dir
|> File.ls!()
|> Enum.sort()
|> Enum.each(fn name ->
  code = File.read!(Path.join(dir, name))
  result =
    try do
      case Code.string_to_quoted(code, columns: true) do
        {:ok, _} -> "ok"
        {:error, {meta, msg, tok}} when is_list(meta) ->
          "error\t" <> Integer.to_string(Keyword.get(meta, :line, 0)) <> "\t" <> one_line.({msg, tok})
        {:error, other} -> "error\t0\t" <> one_line.(other)
      end
    rescue
      e -> "error\t0\traised " <> one_line.(e)
    end
  IO.puts(name <> "\t" <> result)
end)
"""


def parse_many(texts: list[str], *, elixir: str = "elixir", timeout: float = 300) -> list[str | None]:
    """Parse every text with Code.string_to_quoted/2 in one Elixir process; None = ok, else the error."""
    with tempfile.TemporaryDirectory(prefix="elixir-coder-parse-") as tmp:
        d = Path(tmp) / "src"
        d.mkdir()
        for i, t in enumerate(texts):
            (d / f"{i:07d}.ex").write_text(t, encoding="utf-8")
        script = Path(tmp) / "parse.exs"
        script.write_text(_PARSE_SCRIPT)
        proc = subprocess.run(
            [elixir, str(script), str(d)], capture_output=True, text=True, timeout=timeout, check=False
        )
    results: list[str | None] = ["no result"] * len(texts)
    for line in proc.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].endswith(".ex"):
            idx = int(parts[0][:-3])
            results[idx] = None if parts[1] == "ok" else "\t".join(parts[2:])
    if all(r == "no result" for r in results) and texts:
        raise RuntimeError(f"elixir parse run failed: {proc.stderr[-2000:]}")
    return results


def main(argv: list[str] | None = None) -> int:
    """Sample, parse, print and save the soundness figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--rule", default="start")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--out", default=str(_HERE / "results" / "grammar_soundness.json"))
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    tok = build_test_tokenizer()
    t0 = time.perf_counter()
    samples = sample_programs(
        tok, args.n, entry_rule=args.rule, max_tokens=args.max_tokens, batch_size=args.batch, seed=args.seed
    )
    t_sample = time.perf_counter() - t0
    done = [s for s in samples if s["finish"] == "stop"]
    parsed = parse_many([s["text"] for s in done])
    bad = [(s, e) for s, e in zip(done, parsed) if e is not None]
    errors = [s for s in samples if s["finish"] == "error"]
    summary = {
        "samples": len(samples),
        "completed": len(done),
        "parse_failures": len(bad),
        "mask_errors": len(errors),
        "sample_seconds": round(t_sample, 1),
        "failures": [{"text": s["text"], "error": e} for s, e in bad[:50]],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: v for k, v in summary.items() if k != "failures"}))
    for s, e in bad[:15]:
        print(f"--- {e}\n{s['text']}")
    return 0 if not bad and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
