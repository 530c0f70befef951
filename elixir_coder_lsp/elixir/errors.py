"""What the Elixir helper's client raises and returns: the HelperError family and ParseResult."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class HelperError(Exception):
    """Base of every helper failure; ``kind`` is a short machine-readable tag."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class HelperUnavailable(HelperError):
    """The helper cannot run: Elixir missing, closed, or cooling off after repeated crashes."""


class HelperTimeout(HelperError):
    """A request took longer than its timeout (the helper itself keeps running)."""


class HelperCrashed(HelperError):
    """The helper process died while the request was in flight."""


class HelperRequestError(HelperError):
    """The op itself failed: too_large, too_nested, invalid_input, unknown_op, syntax_error, ..."""


@dataclass(frozen=True)
class ParseResult:
    """Outcome of ``parse``: ok, or the first syntax error's position (1-based, code points)."""

    ok: bool
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None
    message: str = ""
    token: str = ""

    @classmethod
    def from_result(cls, result: Mapping[str, Any]) -> ParseResult:
        """Builds a ParseResult from the helper's ``parse`` result object."""
        if result.get("ok"):
            return cls(ok=True)
        return cls(
            ok=False,
            line=result.get("line"),
            column=result.get("column"),
            end_line=result.get("end_line"),
            end_column=result.get("end_column"),
            message=result.get("message", ""),
            token=result.get("token", ""),
        )
