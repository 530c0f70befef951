"""Fill-in-the-middle prompts for inline completion (docs/architecture.md, "Inline completion").

A model trained for FIM has three special tokens (prefix, suffix, middle); the prompt is
``PRE prefix SUF suffix MID`` and the model writes the middle. Families spell them differently, so the
tokenizer's vocabulary decides which spelling to use; a model without them gets the prefix alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from elixir_coder_lsp.inference.types import GenerationRequest, SamplingParams
from elixir_coder_lsp.settings import Settings


@dataclass(frozen=True)
class FimTokens:
    """One family's FIM special tokens, and the text that goes between a token and what follows it."""

    family: str
    prefix: str
    suffix: str
    middle: str
    pad: str = ""  # CodeLlama puts a space after each token


# Ordered: the first family whose three tokens are all in the vocabulary wins.
FAMILIES: tuple[FimTokens, ...] = (
    FimTokens("qwen/starcoder2", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"),
    FimTokens("starcoder", "<fim_prefix>", "<fim_suffix>", "<fim_middle>"),
    FimTokens("deepseek", "<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"),
    FimTokens("codellama", "▁<PRE>", "▁<SUF>", "▁<MID>", pad=" "),
    FimTokens("codellama", "<PRE>", "<SUF>", "<MID>", pad=" "),
)


def _vocabulary(tokenizer: Any) -> set[str]:
    """Every token string the tokenizer knows, added tokens included."""
    vocab: set[str] = set()
    try:
        vocab.update(tokenizer.get_vocab())
    except Exception:  # noqa: BLE001 - a tokenizer without get_vocab has no FIM tokens we can see
        pass
    for token in getattr(tokenizer, "additional_special_tokens", None) or []:
        vocab.add(str(token))
    return vocab


def detect_fim(tokenizer: Any) -> FimTokens | None:
    """The FIM tokens of the tokenizer's family, or None when it has none (a prefix-only prompt)."""
    if tokenizer is None:
        return None
    vocab = _vocabulary(tokenizer)
    for family in FAMILIES:
        if family.prefix in vocab and family.suffix in vocab and family.middle in vocab:
            if family.prefix.startswith("▁"):  # SentencePiece spelling: the text form has no marker
                return FimTokens(family.family, "<PRE>", "<SUF>", "<MID>", pad=family.pad)
            return family
    return None


def fim_prompt(fim: FimTokens | None, prefix: str, suffix: str) -> str:
    """The prompt for the middle between ``prefix`` and ``suffix``: FIM tokens, else the prefix alone."""
    if fim is None:
        return prefix
    p = fim.pad
    return f"{fim.prefix}{p}{prefix}{p}{fim.suffix}{p}{suffix}{p}{fim.middle}"


def bound_by_tokens(prefix: str, suffix: str, tokenizer: Any, max_prefix: int, max_suffix: int) -> tuple[str, str]:
    """Keep the last ``max_prefix`` tokens of the prefix and the first ``max_suffix`` of the suffix, cut at lines.

    Without a tokenizer, four characters count as one token. A cut prefix starts at a line start and a
    cut suffix ends at a line end, so neither begins or ends mid-token.
    """

    def count(text: str) -> int:
        if tokenizer is None:
            return (len(text) + 3) // 4
        try:
            return len(tokenizer(text, add_special_tokens=False).input_ids)
        except Exception:  # noqa: BLE001 - fall back to the character estimate
            return (len(text) + 3) // 4

    if count(prefix) > max_prefix:
        lines = prefix.split("\n")
        kept: list[str] = [lines.pop()]  # the cursor line is always kept
        budget = max_prefix - count(kept[0])
        while lines and budget > 0:
            cost = count(lines[-1]) + 1
            if cost > budget:
                break
            kept.insert(0, lines.pop())
            budget -= cost
        prefix = "\n".join(kept)
    if count(suffix) > max_suffix:
        lines = suffix.split("\n")
        out: list[str] = [lines.pop(0)]
        budget = max_suffix - count(out[0])
        while lines and budget > 0:
            cost = count(lines[0]) + 1
            if cost > budget:
                break
            out.append(lines.pop(0))
            budget -= cost
        suffix = "\n".join(out)
    return prefix, suffix


def inline_request(
    settings: Settings,
    prompt: str,
    *,
    grammar_prefix: str | None,
    entry_rule: str,
    max_new_tokens: int,
    instance: str | None = None,
    sticky_key: str | None = None,
) -> GenerationRequest:
    """One greedy inline-completion request in the scheduler's interactive lane, stopping at a blank line.

    Constrained from ``grammar_prefix`` when `generation.constrained` is on. A remote server's grammar
    cannot start after a prefix: the OpenAI backend sends such a request unconstrained, whichever instance
    the pool routes it to, and its completion is only checked afterwards.
    """
    constrained = settings.generation.constrained and grammar_prefix is not None
    return GenerationRequest(
        prompt=prompt,
        params=SamplingParams(n=1, temperature=0.0, max_new_tokens=max_new_tokens, stop=["\n\n"]),
        constrained=constrained,
        entry_rule=entry_rule,  # type: ignore[arg-type]
        grammar_prefix=grammar_prefix if constrained else None,
        instance=instance,
        sticky_key=sticky_key,
        interactive=True,
    )
