"""Where generated code goes (docs/protocol.md, "Commands"): find the request, the insertion line, indentation and entry rule."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

TriggerKind = Literal["comment", "doc", "selection", "prompt"]
EntryRule = Literal["start", "module_body", "expr_seq"]

_COMMENT = re.compile(r"^(\s*)#(?!\{)\s?(.*)$")
_DOC_START = re.compile(r'^(\s*)@doc\s+(~[sS])?("""|\'\'\'|")(.*)$')
_TAG = re.compile(r"^(TODO|FIXME|XXX|GENERATE)\s*:?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class GenerationSite:
    """A generation request found in a document and where its code will be inserted."""

    kind: TriggerKind
    request: str
    insert_line: int  # 0-based: the code is inserted before this line (== len(lines) appends)
    indent: str
    entry_rule: EntryRule
    anchor: tuple[int, int]  # 0-based first/last line of the trigger (comment block, @doc, selection)
    module: str | None = None


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _comment_block(lines: list[str], line0: int) -> tuple[int, int] | None:
    if not (0 <= line0 < len(lines)) or not _COMMENT.match(lines[line0]):
        return None
    indent = _indent_of(lines[line0])
    first = last = line0
    while first > 0 and _COMMENT.match(lines[first - 1]) and _indent_of(lines[first - 1]) == indent:
        first -= 1
    while last + 1 < len(lines) and _COMMENT.match(lines[last + 1]) and _indent_of(lines[last + 1]) == indent:
        last += 1
    return first, last


def _doc_block(lines: list[str], line0: int) -> tuple[int, int, str] | None:
    """The `@doc` around line0: (first, last, text). A cursor anywhere inside a heredoc counts."""
    for start in range(line0, max(-1, line0 - 200), -1):
        m = _DOC_START.match(lines[start])
        if not m:
            continue
        quote, rest = m.group(3), m.group(4)
        if quote in ('"""', "'''"):
            body: list[str] = []
            for end in range(start + 1, len(lines)):
                if lines[end].strip().startswith(quote):
                    if end >= line0:
                        return start, end, "\n".join(s.strip() for s in body).strip()
                    break
                body.append(lines[end])
            return None
        if start != line0:
            return None
        closing = rest.rfind(quote)
        text = rest[:closing] if closing >= 0 else rest
        return start, start, text.strip()
    return None


def _strip_tag(text: str) -> str:
    return _TAG.sub("", text.strip(), count=1).strip()


def entry_rule_at(line0: int, indent: str, summary: dict[str, Any] | None) -> tuple[EntryRule, str | None]:
    """Grammar entry rule for code inserted at line0: inside a def → expr_seq, inside a module → module_body."""
    line1 = line0 + 1
    if summary:
        module = None
        for mod in summary.get("modules", []):
            if mod.get("line", 0) < line1 <= (mod.get("end_line") or 0):
                module = mod.get("name")
        for d in summary.get("defs", []):
            if d.get("line", 0) < line1 <= (d.get("end_line") or 0) and d.get("end_line", 0) > d.get("line", 0):
                return "expr_seq", module
        if module:
            return "module_body", module
        return "start", None
    width = len(indent.expandtabs(2))
    if width == 0:
        return "start", None
    return ("module_body" if width <= 2 else "expr_seq"), None


def find_site(
    lines: list[str],
    start: tuple[int, int],
    end: tuple[int, int],
    *,
    selected_text: str = "",
    prompt: str | None = None,
    summary: dict[str, Any] | None = None,
) -> GenerationSite | None:
    """The generation site for a cursor/selection (0-based (line, col) pairs), or None if nothing triggers here."""
    line0 = start[0]
    if selected_text.strip():
        last = end[0] - 1 if end[1] == 0 and end[0] > start[0] else end[0]
        indent = _indent_of(lines[line0]) if line0 < len(lines) else ""
        rule, module = entry_rule_at(last + 1, indent, summary)
        request = prompt if prompt else selected_text.strip()
        return GenerationSite("selection", request, last + 1, indent, rule, (line0, last), module)
    if (block := _comment_block(lines, line0)) is not None:
        first, last = block
        text = "\n".join(_COMMENT.match(lines[i]).group(2) for i in range(first, last + 1))  # type: ignore[union-attr]
        request = prompt if prompt else _strip_tag(text)
        if not request:
            return None
        indent = _indent_of(lines[first])
        rule, module = entry_rule_at(last + 1, indent, summary)
        return GenerationSite("comment", request, last + 1, indent, rule, (first, last), module)
    if 0 <= line0 < len(lines) and (doc := _doc_block(lines, line0)) is not None:
        first, last, text = doc
        request = prompt if prompt else text
        if not request:
            return None
        indent = _indent_of(lines[first])
        _rule, module = entry_rule_at(last + 1, indent, summary)
        # A @doc documents the function that follows: always generate module items here.
        return GenerationSite("doc", request, last + 1, indent, "module_body", (first, last), module)
    if prompt:
        indent = _indent_of(lines[line0]) if line0 < len(lines) else ""
        rule, module = entry_rule_at(line0 + 1, indent, summary)
        return GenerationSite("prompt", prompt, line0 + 1, indent, rule, (line0, line0), module)
    return None


def reindent(code: str, indent: str) -> str:
    """Indent formatted code (which starts at column 0) to the insertion point; blank lines stay empty."""
    out = []
    for line in code.strip("\n").split("\n"):
        out.append(indent + line if line.strip() else "")
    return "\n".join(out) + "\n"


def relocate(lines: list[str], site: GenerationSite, anchor_text: list[str]) -> int | None:
    """After the document changed, find the trigger block again; returns the new insertion line or None."""
    first, last = site.anchor
    n = last - first + 1
    candidates = [
        i for i in range(0, len(lines) - n + 1) if [ln.rstrip() for ln in lines[i : i + n]] == [a.rstrip() for a in anchor_text]
    ]
    if not candidates:
        return None
    best = min(candidates, key=lambda i: abs(i - first))
    return best + n
