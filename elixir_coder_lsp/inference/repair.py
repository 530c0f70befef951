"""Repair prompts and the acceptance rule for autofixes and model repairs (docs/architecture.md).

A repair is accepted only when it removes at least one finding, adds none, still parses and keeps
every function head (name and arity). Findings are compared by identity (rule, message, trigger),
never by position, because a repair moves lines.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from elixir_coder_lsp.findings import Finding
from elixir_coder_lsp.inference.check import SYNTAX_RULE
from elixir_coder_lsp.rules import catalogue

# The one definition of finding identity, shared with the deterministic autofixes.
from elixir_coder_lsp.rules.autofix import _signature as finding_identity

Head = tuple[str, int]  # (function name, arity)


def build_prompt(request: str, code: str, findings: Sequence[Finding]) -> str:
    """The repair request text: the original request, the failed code, and each finding with how to fix it.

    It is the `{request}` of the instance's `repair` role template, which asks for corrected code only.
    """
    parts: list[str] = []
    if request and request.strip():
        parts.append(f"Original request: {request.strip()}")
    parts.append("Code with problems:\n" + code.rstrip("\n"))
    lines = ["Problems to fix (fix exactly these; keep the behaviour and every function name and arity):"]
    for i, f in enumerate(findings, 1):
        lines.append(f"{i}. {f.rule} at line {f.line}: {f.message}")
        how = how_to_fix(f)
        if how:
            lines.append(f"   How to fix: {how}")
    parts.append("\n".join(lines))
    return "\n\n".join(parts)


def how_to_fix(finding: Finding) -> str:
    """The catalogue's how-to-fix text for a finding's rule (one paragraph), or a generic line."""
    if finding.rule == SYNTAX_RULE:
        return "Make the code parse: close every do/end, bracket and string."
    rule = catalogue.get(finding.rule)
    if rule is None or not rule.how_to_fix:
        return ""
    return " ".join(rule.how_to_fix.split())


def heads_of(summary: dict[str, Any] | None) -> set[Head]:
    """Function heads (name, arity) in a helper summary; an empty set for code without functions."""
    if not summary:
        return set()
    return {(str(d.get("name")), int(d.get("arity") or 0)) for d in summary.get("defs", []) if d.get("name") is not None}


@dataclass
class Verdict:
    """Whether a changed version of the code is kept, and why."""

    accepted: bool
    reason: str  # accepted | unparseable | adds_finding | changes_heads | no_progress
    removed: list[Finding] = field(default_factory=list)
    added: list[Finding] = field(default_factory=list)

    @property
    def removed_rules(self) -> list[str]:
        """Rule ids of the removed findings, one per finding."""
        return [f.rule for f in self.removed]


def judge(
    before: Sequence[Finding],
    after: Sequence[Finding],
    before_heads: Iterable[Head],
    after_heads: Iterable[Head] | None,
) -> Verdict:
    """The acceptance rule: parses, adds no finding, removes at least one, keeps every function head.

    ``after_heads`` is None when the new code could not be summarised (it does not parse).
    """
    if after_heads is None or any(f.rule == SYNTAX_RULE for f in after):
        return Verdict(False, "unparseable", added=[f for f in after if f.rule == SYNTAX_RULE])
    old = Counter(finding_identity(f) for f in before)
    new = Counter(finding_identity(f) for f in after)
    added_ids = new - old
    removed_ids = old - new
    added = _pick(after, added_ids)
    removed = _pick(before, removed_ids)
    if added:
        return Verdict(False, "adds_finding", removed, added)
    missing = set(before_heads) - set(after_heads)
    if missing:
        return Verdict(False, "changes_heads", removed, [])
    if not removed:
        return Verdict(False, "no_progress")
    return Verdict(True, "accepted", removed, [])


def _pick(findings: Sequence[Finding], wanted: Counter) -> list[Finding]:
    left = Counter(wanted)
    out = []
    for f in findings:
        key = finding_identity(f)
        if left[key] > 0:
            left[key] -= 1
            out.append(f)
    return out
