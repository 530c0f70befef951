""""Disable for this line" edits: a Credo config comment or a Sobelow skip comment."""

from __future__ import annotations

import re

from elixir_coder_lsp.findings import Finding

_DEF = re.compile(r"^(\s*)(def|defp|defmacro|defmacrop)\b")


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def disable_edit(code: str, finding: Finding) -> tuple[int, str]:
    """(1-based line to insert before, text incl. newline) that silences `finding`.

    Credo rules get `# credo:disable-for-next-line Check` above the finding's line; Sobelow rules
    get `# sobelow_skip ["Group.Check"]` above the enclosing function definition, which is where
    Sobelow looks for it.
    """
    lines = code.split("\n")
    line = min(max(finding.line, 1), max(len(lines), 1))
    if finding.rule.startswith("Sobelow."):
        kind = finding.rule.removeprefix("Sobelow.")
        target = line
        for n in range(line, 0, -1):
            m = _DEF.match(lines[n - 1])
            if m and len(m.group(1)) < len(_indent(lines[line - 1])) or (m and n == line):
                target = n
                break
        return target, f'{_indent(lines[target - 1])}# sobelow_skip ["{kind}"]\n'
    return line, f"{_indent(lines[line - 1])}# credo:disable-for-next-line {finding.rule}\n"
