"""Explanations of findings as markdown: What / Why / How to fix / Example / References.

The structured answer comes from the rule catalogue and the offline CWE table and never needs a
model; retrieval over an index and the model's explain role build on top of `extract_context`.
"""

from __future__ import annotations

from typing import Any

from elixir_coder_lsp.findings import Finding


def extract_context(code: str, finding: Finding, radius: int = 2) -> dict[str, Any]:
    """The snippet around a finding plus its rule and CWE entries."""
    from elixir_coder_lsp.rules import catalogue, cwe

    lines = code.splitlines()
    first = max(0, finding.line - 1 - radius)
    last = min(len(lines), (finding.end_line or finding.line) + radius)
    snippet = "\n".join(lines[first:last])
    rule = catalogue.get(finding.rule)
    cwe_id = finding.cwe or (rule.cwe if rule else None)
    return {"snippet": snippet, "first_line": first + 1, "rule": rule, "cwe": cwe.get(cwe_id) if cwe_id else None}


def explain(code: str, finding: Finding) -> str:
    """Markdown for one finding (hover, `elixirCoder.explain`, `elixir-coder explain`)."""
    ctx = extract_context(code, finding)
    rule, cwe_entry = ctx["rule"], ctx["cwe"]
    title = rule.title if rule else finding.rule
    out = [f"### {title}", f"`{finding.rule}` · {finding.source} · {finding.severity}", "", f"**What.** {finding.message}"]
    if rule and rule.what:
        out.append(rule.what)
    if rule and rule.why:
        out += ["", f"**Why.** {rule.why}"]
    if rule and rule.how_to_fix:
        out += ["", f"**How to fix.** {rule.how_to_fix}"]
    if ctx["snippet"].strip():
        out += ["", f"**Here** (from line {ctx['first_line']}):", "```elixir", ctx["snippet"], "```"]
    if rule and (rule.bad_example or rule.good_example):
        out += ["", "**Example.**"]
        if rule.bad_example:
            out += ["```elixir", "# flagged", rule.bad_example.strip("\n"), "```"]
        if rule.good_example:
            out += ["```elixir", "# fixed", rule.good_example.strip("\n"), "```"]
    refs: list[str] = []
    if cwe_entry is not None:
        refs.append(f"[CWE-{cwe_entry.id}: {cwe_entry.name}]({cwe_entry.url})")
    if rule is not None:
        refs.append(f"[{rule.id}]({rule.doc_url})")
        refs += [r for r in rule.references if r not in refs]
    if refs:
        out += ["", "**References.** " + " · ".join(refs)]
    return "\n".join(out)
