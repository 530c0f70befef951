"""Convert between our code-point columns and LSP positions (UTF-16 by default, or UTF-8/UTF-32)."""

from __future__ import annotations

from lsprotocol import types

# Encodings LSP clients may negotiate (`general.positionEncodings`); we prefer UTF-16 (the default).


def _units(ch: str, encoding: str) -> int:
    if encoding == "utf-32":
        return 1
    if encoding == "utf-8":
        return len(ch.encode("utf-8"))
    return 2 if ord(ch) > 0xFFFF else 1


def codepoint_to_units(line_text: str, column0: int, encoding: str = "utf-16") -> int:
    """Code-point offset (0-based) within a line -> offset in the client's position encoding."""
    column0 = max(0, min(column0, len(line_text)))
    if encoding == "utf-32":
        return column0
    return sum(_units(ch, encoding) for ch in line_text[:column0])


def units_to_codepoint(line_text: str, units: int, encoding: str = "utf-16") -> int:
    """Offset in the client's encoding within a line -> code-point offset (clamped to the line)."""
    if encoding == "utf-32":
        return max(0, min(units, len(line_text)))
    seen = 0
    for index, ch in enumerate(line_text):
        if seen >= units:
            return index
        seen += _units(ch, encoding)
    return len(line_text)


def lsp_position(lines: list[str], line1: int, column1: int, encoding: str = "utf-16") -> types.Position:
    """1-based (line, code-point column) -> an LSP Position, clamped into the document."""
    if not lines:
        return types.Position(line=0, character=0)
    line0 = max(0, min(line1 - 1, len(lines) - 1))
    if line1 - 1 > len(lines) - 1:
        # Past the end (e.g. "missing end" reported after the last line): point at the end of the text.
        return types.Position(line=line0, character=codepoint_to_units(lines[line0], len(lines[line0]), encoding))
    return types.Position(line=line0, character=codepoint_to_units(lines[line0], max(0, column1 - 1), encoding))


def lsp_range(
    lines: list[str],
    line1: int,
    column1: int,
    end_line1: int | None,
    end_column1: int | None,
    encoding: str = "utf-16",
) -> types.Range:
    """A finding's 1-based code-point span -> an LSP Range; a point becomes a one-character range."""
    start = lsp_position(lines, line1, column1, encoding)
    if end_line1 is None or end_column1 is None or (end_line1, end_column1) <= (line1, column1):
        end_line1, end_column1 = line1, column1 + 1
    end = lsp_position(lines, end_line1, end_column1, encoding)
    return types.Range(start=start, end=end)


def split_lines(text: str) -> list[str]:
    """Lines without their terminators, as LSP counts them (\\n, \\r\\n and \\r all end a line)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
