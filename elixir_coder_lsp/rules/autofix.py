"""Deterministic autofixes: apply a rule's edits, and fix a whole buffer with re-checking.

Edits are maps {line, column, end_line, end_column, text}: 1-based, columns in code points,
end exclusive (the helper's convention). `fix_all` keeps a fix only when re-checking shows its
finding gone and nothing new.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from elixir_coder_lsp.findings import Finding


class EditError(ValueError):
    """Edits that overlap or point outside the text."""


def _line_starts(code: str) -> list[int]:
    starts = [0]
    for i, ch in enumerate(code):
        if ch == "\n":
            starts.append(i + 1)
    return starts


def _offset(starts: list[int], code: str, line: int, column: int) -> int:
    if line < 1 or column < 1:
        raise EditError(f"position {line}:{column} is before the start of the text")
    if line > len(starts):
        # one past the last line (deleting through the end of a file without final newline)
        if line == len(starts) + 1 and column == 1:
            return len(code)
        raise EditError(f"line {line} is past the end of the text")
    start = starts[line - 1]
    end = starts[line] - 1 if line < len(starts) else len(code)
    off = start + column - 1
    if off > end:
        raise EditError(f"column {column} is past the end of line {line}")
    return off


def apply_edits(code: str, edits: Sequence[Mapping[str, Any]]) -> str:
    """Apply non-overlapping edits (code-point columns); raises EditError on overlap or bad range."""
    starts = _line_starts(code)
    spans = []
    for e in edits:
        a = _offset(starts, code, int(e["line"]), int(e["column"]))
        b = _offset(starts, code, int(e["end_line"]), int(e["end_column"]))
        if b < a:
            raise EditError(f"edit ends before it starts: {dict(e)}")
        spans.append((a, b, str(e.get("text") or "")))
    spans.sort(key=lambda s: (s[0], s[1]))
    for (a1, b1, _), (a2, b2, _) in zip(spans, spans[1:]):
        if a2 < b1 or (a2 == a1 and b1 == a1 and b2 == a2):
            raise EditError("overlapping edits")
    out = code
    for a, b, text in reversed(spans):
        out = out[:a] + text + out[b:]
    return out


@dataclass
class FixOutcome:
    """Result of `fix_all`: the new code, the rules fixed (one entry per fix), what is left."""

    code: str
    fixed: list[str] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)
    attempts: int = 0

    def to_json(self) -> dict[str, Any]:
        """The JSON shape of `elixir-coder fix` (docs/protocol.md, "CLI")."""
        return {
            "code": self.code,
            "fixed": list(self.fixed),
            "remaining": [f.to_json() for f in self.remaining],
            "attempts": self.attempts,
        }


def _signature(f: Finding) -> tuple[str, str, str | None]:
    # positions shift when lines are added or removed; identity is rule + message + trigger
    return (f.rule, f.message, f.trigger)


def _key(f: Finding) -> tuple[Any, ...]:
    return (f.rule, f.line, f.column, f.message)


def fix_all(
    code: str,
    *,
    helper: Any = None,
    settings: Any = None,
    rules: Iterable[str] | None = None,
    filename: str | None = None,
    credo_config: Any = None,
    max_attempts: int = 500,
) -> FixOutcome:
    """Apply every deterministic autofix, one at a time, re-checking after each."""
    from elixir_coder_lsp.inference.check import analyze

    wanted = set(rules) if rules is not None else None

    def check(text: str) -> list[Finding]:
        return analyze(text, filename=filename, settings=settings, credo_config=credo_config, helper=helper).findings

    findings = check(code)
    outcome = FixOutcome(code=code)
    if any(f.rule == "Elixir.SyntaxError" for f in findings):
        outcome.remaining = findings
        return outcome

    failed: set[tuple[Any, ...]] = set()
    while outcome.attempts < max_attempts:
        candidate = next(
            (
                f
                for f in findings
                if f.fixable and _key(f) not in failed and (wanted is None or f.rule in wanted) and f.extra.get("fix")
            ),
            None,
        )
        if candidate is None:
            break
        outcome.attempts += 1
        try:
            new_code = apply_edits(code, candidate.extra["fix"]["edits"])
        except (EditError, KeyError, TypeError, ValueError):
            failed.add(_key(candidate))
            continue
        new_findings = check(new_code)
        before = Counter(_signature(f) for f in findings)
        after = Counter(_signature(f) for f in new_findings)
        gone = after[_signature(candidate)] < before[_signature(candidate)]
        added = after - before
        if new_code != code and gone and not added:
            code, findings = new_code, new_findings
            outcome.fixed.append(candidate.rule)
            # keys of failed attempts are positions in the old text; they may have moved
            failed = {k for k in failed if any(_key(f) == k for f in findings)}
        else:
            failed.add(_key(candidate))
    outcome.code = code
    outcome.remaining = findings
    return outcome
