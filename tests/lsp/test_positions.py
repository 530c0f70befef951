"""LSP positions: code points vs UTF-16/UTF-8/UTF-32 units, clamping, ranges and line splitting."""

from __future__ import annotations

import pytest

from elixir_coder_lsp.lsp.positions import codepoint_to_units, lsp_position, lsp_range, split_lines, units_to_codepoint

LINE = "a🎉é = 1"  # 🎉 is 2 UTF-16 units and 4 UTF-8 bytes; é is 1 unit and 2 bytes


@pytest.mark.parametrize(("encoding", "after_emoji", "after_e"), [("utf-16", 3, 4), ("utf-8", 5, 7), ("utf-32", 2, 3)])
def test_code_points_to_units_and_back(encoding: str, after_emoji: int, after_e: int) -> None:
    assert codepoint_to_units(LINE, 2, encoding) == after_emoji
    assert codepoint_to_units(LINE, 3, encoding) == after_e
    assert units_to_codepoint(LINE, after_emoji, encoding) == 2
    assert units_to_codepoint(LINE, after_e, encoding) == 3


def test_offsets_are_clamped_to_the_line() -> None:
    assert codepoint_to_units("abc", 10) == 3
    assert codepoint_to_units("abc", -4) == 0
    assert units_to_codepoint("abc", 99) == 3
    assert units_to_codepoint("abc", 99, "utf-32") == 3


def test_a_position_inside_a_surrogate_pair_rounds_up() -> None:
    assert units_to_codepoint(LINE, 2) == 2  # the middle of 🎉 -> after it


def test_positions_are_clamped_into_the_document() -> None:
    lines = ["defmodule A do", "end"]
    assert lsp_position(lines, 1, 1) == lsp_position(lines, 0, 0)
    past_end = lsp_position(lines, 9, 1)
    assert (past_end.line, past_end.character) == (1, 3)
    assert lsp_position([], 3, 3).line == 0


def test_a_point_becomes_a_one_character_range() -> None:
    rng = lsp_range(["x = 1"], 1, 3, None, None)
    assert (rng.start.character, rng.end.character) == (2, 3)
    backwards = lsp_range(["x = 1"], 1, 3, 1, 1)
    assert (backwards.start.character, backwards.end.character) == (2, 3)
    span = lsp_range(["x = 1", "y"], 1, 1, 2, 2)
    assert (span.start.line, span.end.line, span.end.character) == (0, 1, 1)


def test_every_line_terminator_ends_a_line() -> None:
    assert split_lines("a\r\nb\rc\nd") == ["a", "b", "c", "d"]
    assert split_lines("a\n") == ["a", ""]
