"""The one finding type shared by syntax checks, built-in rules, real Credo/Sobelow and the CLI."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

Severity = Literal["error", "warning", "information", "hint"]
Source = Literal["credo", "sobelow", "elixir", "elixir-coder"]

SEVERITY_RANK: dict[str, int] = {"hint": 0, "information": 1, "warning": 2, "error": 3}


@dataclass(frozen=True)
class Finding:
    """One problem in one file.

    Lines and columns are 1-based and count Unicode code points; ``end_column`` is exclusive
    (the column just after the last character). The LSP layer converts to UTF-16 positions.
    """

    rule: str  # e.g. "Credo.Check.Warning.IoInspect", "Sobelow.DOS.StringToAtom", "Elixir.SyntaxError"
    source: str  # credo | sobelow | elixir | elixir-coder
    severity: str  # error | warning | information | hint
    message: str
    line: int
    column: int = 1
    end_line: int | None = None
    end_column: int | None = None
    file: str | None = None
    category: str = ""
    priority: int | None = None  # Credo priority (number)
    confidence: str | None = None  # Sobelow: high | medium | low
    cwe: int | None = None
    fixable: bool = False
    trigger: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def with_(self, **changes: Any) -> Finding:
        """Return a copy with some fields changed."""
        return replace(self, **changes)

    def contains(self, line: int, column: int | None = None) -> bool:
        """Whether a 1-based position (without a column: the line) is in the span; the end counts as inside."""
        end_line = self.end_line or self.line
        if column is None:
            return self.line <= line <= end_line
        end_column = self.end_column or self.column + 1
        return (self.line, self.column) <= (line, column) <= (end_line, end_column)

    def to_json(self) -> dict[str, Any]:
        """The CLI's JSON shape (docs/protocol.md, "CLI")."""
        return {
            "rule": self.rule,
            "source": self.source,
            "severity": self.severity,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line if self.end_line is not None else self.line,
            "end_column": self.end_column if self.end_column is not None else self.column,
            "cwe": self.cwe,
            "fixable": self.fixable,
        }

    def as_dict(self) -> dict[str, Any]:
        """Every field, for transport between processes and caches."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """Inverse of :meth:`as_dict` (unknown keys are kept in ``extra``)."""
        known = {f for f in cls.__dataclass_fields__}
        kwargs = {k: v for k, v in data.items() if k in known}
        extra = {k: v for k, v in data.items() if k not in known}
        if extra:
            kwargs["extra"] = {**kwargs.get("extra", {}), **extra}
        return cls(**kwargs)


def at_or_above(finding: Finding, threshold: str) -> bool:
    """True when the finding's severity is at or above ``threshold``."""
    return SEVERITY_RANK[finding.severity] >= SEVERITY_RANK[threshold]
