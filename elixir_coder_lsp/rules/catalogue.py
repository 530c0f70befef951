"""The rule catalogue: one entry per built-in rule (Credo- and Sobelow-mirroring), shared by
checks, autofixes, hovers and the SARIF output."""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)


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


_index: dict[str, Rule] | None = None


def _load() -> dict[str, Rule]:
    global _index
    if _index is None:
        rules: list[Rule] = []
        from elixir_coder_lsp.rules import credo_docs

        rules.extend(credo_docs.RULES)
        try:
            from elixir_coder_lsp.rules import sobelow_docs

            rules.extend(sobelow_docs.RULES)
        except Exception as exc:  # a broken or missing sobelow_docs must not take the Credo docs down
            log.warning("sobelow rule docs unavailable: %s", exc)
        _index = {r.id: r for r in rules}
    return _index


def get(rule_id: str) -> Rule | None:
    """The catalogue entry for a rule id, or None."""
    return _load().get(rule_id)


def all_rules() -> list[Rule]:
    """Every catalogue entry, Credo first, in id order within each tool."""
    return sorted(_load().values(), key=lambda r: (r.tool != "credo", r.id))
