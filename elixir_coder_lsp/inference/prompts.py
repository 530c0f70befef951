"""Role prompt templates (generate, question, explain, repair) and prompt building with or without a chat template."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)

ROLES = ("generate", "question", "explain", "repair")

SYSTEM = "You are an expert Elixir developer. Answer with idiomatic, formatted Elixir that compiles."

# Built-in templates; `{request}` is the user's text and `{context}` the rendered context block.
# A settings override (models.NAME.roles.ROLE.template) uses the same two placeholders.
TEMPLATES: dict[str, str] = {
    "generate": (
        "{context}Write Elixir code for the following request. Reply with the code only, no explanations "
        "and no Markdown fences.\n\nRequest: {request}\n"
    ),
    "question": (
        "{context}The following code request is ambiguous. Ask the single most useful clarifying question, "
        "in one sentence.\n\nRequest: {request}\n"
    ),
    "explain": (
        "{context}Explain to an Elixir developer why the following finding matters in the code shown, in one "
        "short paragraph of plain prose, grounded in the documentation above.\n\n{request}\n"
    ),
    "repair": (
        "{context}Fix the problems listed below in this Elixir code. Reply with the complete corrected code "
        "only.\n\n{request}\n"
    ),
}

# How the plain completion prompt ends, per role, so a base (non-chat) model continues in the right mode.
COMPLETION_CUES: dict[str, str] = {
    "generate": "\n# Elixir code:\n",
    "question": "\nQuestion:",
    "explain": "\nExplanation:\n",
    "repair": "\n# Corrected code:\n",
}

_CONTEXT_LABELS = {
    "module": "Module",
    "aliases": "Aliases in scope",
    "imports": "Imports in scope",
    "function_heads": "Neighbouring functions",
    "functions": "Neighbouring functions",
    "code": "Code",
}


def render_context(context: str | Mapping[str, Any] | None) -> str:
    """A context block for the prompt: a string as-is, a mapping as labelled lines; '' when empty."""
    if not context:
        return ""
    if isinstance(context, str):
        text = context.strip()
        return f"Context:\n{text}\n\n" if text else ""
    lines: list[str] = []
    for key, value in context.items():
        if value in (None, "", [], {}):
            continue
        label = _CONTEXT_LABELS.get(key, key.replace("_", " ").capitalize())
        if isinstance(value, (list, tuple)):
            if key in ("function_heads", "functions", "code"):
                lines.append(f"{label}:\n" + "\n".join(f"  {v}" for v in value))
            else:
                lines.append(f"{label}: {', '.join(str(v) for v in value)}")
        else:
            text = str(value)
            lines.append(f"{label}:\n{text}" if "\n" in text else f"{label}: {text}")
    return "Context:\n" + "\n".join(lines) + "\n\n" if lines else ""


def role_template(role: str, override: str | None = None) -> str:
    """The template for ``role``: the override when non-empty, else the built-in one."""
    if override and override.strip():
        return override
    if role not in TEMPLATES:
        raise ValueError(f"unknown role {role!r} (expected one of {', '.join(ROLES)})")
    return TEMPLATES[role]


def render_role(role: str, request_text: str, context: str | Mapping[str, Any] | None = None, template: str | None = None) -> str:
    """The role's instruction text with the request and context filled in (no chat formatting)."""
    tmpl = role_template(role, template)
    values = {"request": request_text, "context": render_context(context)}
    try:
        return tmpl.format_map(_Missing(values))
    except (ValueError, IndexError) as exc:
        # A user template with stray braces: fill the two placeholders literally instead of failing.
        log.warning("role template for %s is not a valid format string (%s); filling placeholders literally", role, exc)
        return tmpl.replace("{request}", request_text).replace("{context}", values["context"])


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def has_chat_template(tokenizer: Any) -> bool:
    """Whether the tokenizer carries a chat template."""
    return bool(getattr(tokenizer, "chat_template", None))


def build_prompt(
    tokenizer: Any,
    role: str,
    request_text: str,
    context: str | Mapping[str, Any] | None = None,
    *,
    template: str | None = None,
    prefix: str = "",
) -> str:
    """The full prompt text: the tokenizer's chat template when it has one, a plain completion prompt otherwise.

    ``prefix`` is text the answer must start with (e.g. ``defmodule Foo do``), appended after the
    assistant turn starts so the model continues it.
    """
    body = render_role(role, request_text, context, template)
    if tokenizer is not None and has_chat_template(tokenizer):
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": body}]
        try:
            text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        except Exception:  # noqa: BLE001 - some templates reject a system turn; retry without it
            messages = [{"role": "user", "content": SYSTEM + "\n\n" + body}]
            text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return _strip_bos(tokenizer, text) + prefix
    return f"# {SYSTEM}\n{_comment_block(body)}{COMPLETION_CUES.get(role, chr(10))}{prefix}"


def _comment_block(text: str) -> str:
    # A base model continuing an Elixir file reads the instructions best as a comment block.
    return "".join(f"# {line}".rstrip() + "\n" for line in text.rstrip("\n").splitlines())


def _strip_bos(tokenizer: Any, text: str) -> str:
    # The worker's tokenizer call adds BOS itself where the tokenizer does; avoid a doubled BOS.
    bos = getattr(tokenizer, "bos_token", None)
    if bos and text.startswith(bos):
        ids = tokenizer("x").input_ids if callable(tokenizer) else []
        if ids and ids[0] == tokenizer.bos_token_id:
            return text[len(bos) :]
    return text


@lru_cache(maxsize=16)
def load_tokenizer(checkpoint: str) -> Any:
    """The tokenizer of a local checkpoint or a cached hub id (never downloads); None when unavailable."""
    try:
        from pathlib import Path

        from transformers import AutoTokenizer

        path = Path(checkpoint).expanduser()
        if path.is_dir():
            return AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        return AutoTokenizer.from_pretrained(checkpoint, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - no tokenizer means a plain completion prompt
        log.info("no local tokenizer for %s (%s); using plain completion prompts", checkpoint, exc)
        return None


_FENCE = re.compile(r"```(?:elixir|ex|exs)?\s*\n(.*?)(?:```|\Z)", re.DOTALL)


def extract_code(text: str) -> str:
    """The code in a completion: the first fenced block when there is one, else the text itself."""
    m = _FENCE.search(text)
    return (m.group(1) if m else text).strip("\n")
