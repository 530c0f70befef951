"""The rule catalogue: one entry per built-in rule (Credo- and Sobelow-mirroring), shared by
checks, autofixes, hovers and the SARIF output."""

from __future__ import annotations

from elixir_coder_lsp.rules import credo_docs, cwe, sobelow_docs
from elixir_coder_lsp.rules.rule import Rule

_index: dict[str, Rule] | None = None


def _load() -> dict[str, Rule]:
    global _index
    if _index is None:
        _index = {r.id: r for r in [*credo_docs.RULES, *sobelow_docs.RULES]}
    return _index


def get(rule_id: str) -> Rule | None:
    """The catalogue entry for a rule id, or None."""
    return _load().get(rule_id)


def all_rules() -> list[Rule]:
    """Every catalogue entry, Credo first, in id order within each tool."""
    return sorted(_load().values(), key=lambda r: (r.tool != "credo", r.id))


def cited_cwe_ids() -> list[int]:
    """The CWE ids that the rules cite."""
    return sorted({r.cwe for r in all_rules() if r.cwe is not None})


def cited_cwe_entries() -> list[cwe.CweEntry]:
    """MITRE's entries for the CWE ids the rules cite, by id."""
    return [e for e in (cwe.get(i) for i in cited_cwe_ids()) if e is not None]
