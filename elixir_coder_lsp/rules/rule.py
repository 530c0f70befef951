"""One built-in rule and its documentation; the data tables (credo_docs.py, sobelow_docs.py) are lists of these."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """A built-in rule and its documentation (written in our own words)."""

    id: str  # e.g. "Credo.Check.Warning.IoInspect", "Sobelow.DOS.StringToAtom"
    tool: str  # "credo" | "sobelow"
    category: str  # warning | readability | design | refactor | consistency | security
    title: str
    priority: int | None = None  # Credo base priority (high 10, normal 0/1, low -10)
    confidence: str | None = None  # Sobelow default confidence
    cwe: int | None = None
    autofix: bool = False
    what: str = ""
    why: str = ""
    how_to_fix: str = ""
    bad_example: str = ""
    good_example: str = ""
    references: tuple[str, ...] = ()
    default_enabled: bool = True

    @property
    def doc_url(self) -> str:
        """Hexdocs page for Credo checks, the CWE page for security rules."""
        return doc_url(self.id, self.cwe) or "https://hexdocs.pm/sobelow/readme.html"


def doc_url(rule_id: str, cwe: int | None = None) -> str | None:
    """Where to read about a rule id (ours or a real tool's): hexdocs for Credo, the CWE page for security."""
    if rule_id.startswith("Credo.Check."):
        return f"https://hexdocs.pm/credo/{rule_id}.html"
    if cwe:
        return f"https://cwe.mitre.org/data/definitions/{cwe}.html"
    if rule_id.startswith("Sobelow."):
        return "https://hexdocs.pm/sobelow/readme.html"
    return None
