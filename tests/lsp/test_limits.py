"""[limits]: which documents are skipped, with which diagnostic (lsp/limits.py)."""

from __future__ import annotations

import pytest

from elixir_coder_lsp.config import parse_settings
from elixir_coder_lsp.lsp.limits import (
    LINE_TOO_LONG_CODE,
    NESTING_CODE,
    NOT_TEXT_CODE,
    TOO_LARGE_CODE,
    refusal_diagnostic,
    skip_diagnostic,
)
from elixir_coder_lsp.settings import LimitsSettings

LIMITS = LimitsSettings(max_document_bytes=10_000, max_line_bytes=1_000, max_nesting=50)


def test_defaults_and_validation() -> None:
    s, errors = parse_settings({})
    assert (s.limits.max_document_bytes, s.limits.max_line_bytes, s.limits.max_nesting) == (2_000_000, 100_000, 500)
    s, errors = parse_settings({"limits": {"maxLineBytes": 0, "maxNesting": "deep"}})
    assert len(errors) == 2 and s.limits.max_line_bytes == 100_000 and s.limits.max_nesting == 500


@pytest.mark.parametrize(
    "text, code, line",
    [
        ("x" * 10_001, TOO_LARGE_CODE, 0),
        ("x = 1\ny = <<0>>\n\x00\x00", NOT_TEXT_CODE, 2),
        ("x = 1\n\ud800", NOT_TEXT_CODE, 1),
        ("\x01\x02\x03\x04PK\x05\x06" * 100, NOT_TEXT_CODE, 0),
        ("\ufffd\ufffd\ufffd ELF \ufffd" * 100, NOT_TEXT_CODE, 0),
        ("x = 1\n" + "y" * 1_001 + "\n", LINE_TOO_LONG_CODE, 1),
    ],
    ids=["too-large", "nul", "surrogate", "binary", "undecodable", "long-line"],
)
def test_skipped_documents(text: str, code: str, line: int) -> None:
    diag = skip_diagnostic(text, LIMITS)
    assert diag is not None and diag.code == code
    assert diag.range.start.line == line
    assert diag.message.startswith("Analysis skipped:")


def test_messages_name_the_setting() -> None:
    assert "limits.maxDocumentBytes (10,000)" in skip_diagnostic("x" * 10_001, LIMITS).message
    assert "limits.maxLineBytes (1,000)" in skip_diagnostic("y" * 1_001, LIMITS).message


@pytest.mark.parametrize(
    "text",
    ["", "defmodule A do\n  def f, do: :ok\nend\n", "s = \"é ü 日本 \u2028\"\t# tab\f\n", "\x1b[31m colour escape in a string", "y" * 1_000],
)
def test_ordinary_text_is_analysed(text: str) -> None:
    assert skip_diagnostic(text, LIMITS) is None


def test_helper_refusals_become_diagnostics() -> None:
    msg = "Diagnostics are unavailable: the code nests brackets or do/fn blocks more than 50 levels deep (at line 3); the helper refuses input nested this deeply"
    diag = refusal_diagnostic("too_nested", msg, LIMITS)
    assert diag is not None and diag.code == NESTING_CODE and diag.range.start.line == 2
    assert "limits.maxNesting (50)" in diag.message
    assert refusal_diagnostic("invalid_input", "not valid UTF-8", LIMITS).code == NOT_TEXT_CODE
    assert refusal_diagnostic("crashed", "the helper exited", LIMITS) is None
