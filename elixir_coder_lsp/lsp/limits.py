"""Input limits (`[limits]`): a document that is not analysed gets one diagnostic saying why (issue 14).

The cheap checks run here before the helper sees the text: size, text that is not text (NUL bytes,
code points that are not valid UTF-8, a binary file opened as Elixir) and over-long lines. Nesting is
checked by the helper, which knows strings and comments; its refusal becomes a diagnostic as well.
"""

from __future__ import annotations

import re

from lsprotocol import types

from elixir_coder_lsp.settings import LimitsSettings

TOO_LARGE_CODE = "ElixirCoder.DocumentTooLarge"
NOT_TEXT_CODE = "ElixirCoder.NotText"
LINE_TOO_LONG_CODE = "ElixirCoder.LineTooLong"
NESTING_CODE = "ElixirCoder.NestingTooDeep"

# Lone surrogates reach us from JSON escapes (\ud800) or from a client that decoded bytes with
# surrogateescape: either way the document is not valid UTF-8.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Control characters no source file contains (tab, newlines, form feed and escape are fine), and
# U+FFFD, which an editor puts where it could not decode a byte.
_BINARY = re.compile(r"[\x01-\x08\x0e-\x1a\x1c-\x1f\x7f\ufffd]")
_SAMPLE_CHARS = 64 * 1024
_BINARY_SHARE = 0.05  # more than this share of odd characters in the sample: a binary file
_NESTED_AT = re.compile(r"at line (\d+)")


def skip_diagnostic(text: str, limits: LimitsSettings) -> types.Diagnostic | None:
    """The diagnostic for a document the limits keep from analysis, or None when it may be analysed."""
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > limits.max_document_bytes:
        return _diagnostic(
            TOO_LARGE_CODE,
            f"Analysis skipped: the document is {size:,} bytes, above limits.maxDocumentBytes ({limits.max_document_bytes:,}).",
        )
    nul = text.find("\x00")
    if nul >= 0:
        return _diagnostic(NOT_TEXT_CODE, "Analysis skipped: the document contains NUL bytes, so it is not Elixir source text.", _line_of(text, nul))
    bad = _SURROGATE.search(text)
    if bad:
        return _diagnostic(NOT_TEXT_CODE, "Analysis skipped: the document is not valid UTF-8 text.", _line_of(text, bad.start()))
    sample = text[:_SAMPLE_CHARS]
    odd = len(_BINARY.findall(sample))
    if sample and odd > _BINARY_SHARE * len(sample):
        return _diagnostic(
            NOT_TEXT_CODE,
            f"Analysis skipped: the document looks like a binary file ({odd:,} control or undecodable characters "
            f"in its first {len(sample):,}), not Elixir source text.",
        )
    if size > limits.max_line_bytes:  # no line can be longer than the document
        for number, line in enumerate(text.split("\n")):
            length = len(line.encode("utf-8", errors="surrogatepass"))
            if length > limits.max_line_bytes:
                return _diagnostic(
                    LINE_TOO_LONG_CODE,
                    f"Analysis skipped: line {number + 1} is {length:,} bytes, above limits.maxLineBytes ({limits.max_line_bytes:,}).",
                    number,
                )
    return None


def refusal_diagnostic(kind: str, detail: str, limits: LimitsSettings) -> types.Diagnostic | None:
    """The diagnostic for an input the helper refused (``kind`` and ``detail`` from its error), or None for other failures."""
    if kind == "too_nested":
        match = _NESTED_AT.search(detail)
        line0 = int(match.group(1)) - 1 if match else 0
        return _diagnostic(
            NESTING_CODE,
            f"Analysis skipped: the code nests brackets or do/fn blocks more than {limits.max_nesting} levels deep"
            f"{f' (at line {line0 + 1})' if match else ''}, above limits.maxNesting ({limits.max_nesting}).",
            line0,
        )
    if kind == "too_large":
        return _diagnostic(TOO_LARGE_CODE, f"Analysis skipped: {detail}.")
    if kind == "invalid_input":
        return _diagnostic(NOT_TEXT_CODE, f"Analysis skipped: {detail}.")
    return None


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset)


def _diagnostic(code: str, message: str, line0: int = 0) -> types.Diagnostic:
    position = types.Position(line=line0, character=0)
    return types.Diagnostic(
        range=types.Range(start=position, end=position),
        message=message,
        severity=types.DiagnosticSeverity.Information,
        code=code,
        source="elixir-coder",
    )
