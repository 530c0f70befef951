"""Inline completion's view of the document: strings and comments, the enclosing construct, trimming and the parse check."""

from __future__ import annotations

import pytest
from lsprotocol import types

from elixir_coder_lsp.lsp.inline import context_at, enclosing_construct, parse_no_worse, syntax_at, trim_completion

SRC = '''defmodule A do
  # a comment with "quotes"
  @doc """
  Heredoc #{1 + 1} text
  """
  def f(x) do
    s = "ab #{x <> "in"} c"
    r = ~r/a"b/
    q = ?"
    t = ~S(no #{interp})
    x
  end

  def one(x), do: x
end
'''


@pytest.mark.parametrize(
    ("probe", "where"),
    [
        ("# a comm", "comment"),
        ('with "quo', "comment"),
        ("Heredoc ", "string"),
        ("#{1 + ", "code"),
        ("ab ", "string"),
        ('<> "i', "string"),
        ('"in"', "code"),
        ("} c", "string"),
        ('~r/a"', "string"),
        ("q = ?", "code"),
        ("no #{int", "string"),
        ("    x\n", "code"),
    ],
)
def test_syntax_at(probe: str, where: str) -> None:
    assert syntax_at(SRC, SRC.index(probe) + len(probe) - 1 if probe != '"in"' else SRC.index(probe) + 4) == where


def test_the_grammar_starts_at_the_enclosing_def_or_module_body() -> None:
    lines = SRC.split("\n")
    assert enclosing_construct(lines, 10, 4) == (5, "module_body")  # inside def f
    assert enclosing_construct(lines, 5, 5) == (5, "module_body")  # on the def line itself
    assert enclosing_construct(lines, 12, 2) == (1, "module_body")  # between defs: the module body
    assert enclosing_construct(lines, 14, 0) == (0, "start")  # top level
    assert enclosing_construct(lines + ["  def"], 16, 5) == (16, "module_body")


def test_context_holds_prefix_suffix_and_grammar_prefix() -> None:
    ctx = context_at("file:///a.ex", 3, SRC, types.Position(line=10, character=4), "utf-16")
    assert ctx.prefix + ctx.suffix == SRC and ctx.suffix.startswith("x\n  end")
    assert ctx.grammar_prefix is not None and ctx.grammar_prefix.startswith("  def f(x) do") and ctx.entry_rule == "module_body"
    assert ctx.indent == 4


def test_trim_stops_at_a_blank_line_or_the_end_of_the_construct() -> None:
    assert trim_completion(" + 1\n    y = 2\n\n    z = 3", 4) == " + 1\n    y = 2"
    assert trim_completion(" + 1\n  end\n  def g", 4) == " + 1"  # a dedent ends the block
    assert trim_completion("\n    x\n  end\n\n  def g", 2) == "\n    x\n  end"  # the construct's own end
    assert trim_completion("x   \n", 0) == "x"


def test_parse_no_worse_drops_lines_until_the_file_parses(helper) -> None:
    ctx = context_at("file:///a.ex", 1, SRC, types.Position(line=10, character=5), "utf-16")  # after "    x"
    assert parse_no_worse(helper.parse, ctx, " + 1") == " + 1"
    assert parse_no_worse(helper.parse, ctx, " + 1\n    y = (") == " + 1"
    assert parse_no_worse(helper.parse, ctx, " + )") == ""
    broken = SRC.replace("  def one(x), do: x\n", "  def one(x), do: (\n")
    ctx = context_at("file:///a.ex", 1, broken, types.Position(line=10, character=5), "utf-16")
    assert not helper.parse(broken).ok
    assert parse_no_worse(helper.parse, ctx, " + 1") == " + 1"  # the error stays where it was


def test_a_newer_request_takes_over_a_decoding_that_produced_what_was_typed() -> None:
    import asyncio

    from elixir_coder_lsp.lsp.inline import Decoding, InlineCompletions

    async def scenario() -> None:
        ctx = context_at("file:///a.ex", 1, SRC, types.Position(line=10, character=5), "utf-16")
        d = Decoding(prefix=ctx.prefix, suffix=ctx.suffix, future=asyncio.get_running_loop().create_future(), produced=" + le")
        typed = SRC.replace("    x\n  end", "    x + l\n  end", 1)
        newer = context_at("file:///a.ex", 2, typed, types.Position(line=10, character=9), "utf-16")
        assert InlineCompletions._takeover_text(d, newer) == " + l"
        other = SRC.replace("    x\n  end", "    x - l\n  end", 1)
        assert InlineCompletions._takeover_text(d, context_at("file:///a.ex", 2, other, types.Position(line=10, character=9), "utf-16")) is None
        d.future.cancel()
        assert InlineCompletions._takeover_text(d, newer) is None

    asyncio.run(scenario())


def test_the_cache_answers_the_same_position_and_the_rest_of_a_typed_completion() -> None:
    from elixir_coder_lsp.lsp.inline import CACHE_SIZE, DocState, InlineCompletions

    doc = DocState()
    ctx = context_at("file:///a.ex", 1, SRC, types.Position(line=10, character=5), "utf-16")
    InlineCompletions._remember(doc, ctx, " + length(x)")
    assert InlineCompletions._from_cache(None, doc, ctx) == " + length(x)"  # type: ignore[arg-type]
    typed = SRC.replace("    x\n  end", "    x + len\n  end", 1)
    later = context_at("file:///a.ex", 2, typed, types.Position(line=10, character=11), "utf-16")
    assert InlineCompletions._from_cache(None, doc, later) == "gth(x)"  # type: ignore[arg-type]
    for i in range(CACHE_SIZE + 2):
        InlineCompletions._remember(doc, context_at("u", 1, SRC + "#" * i, types.Position(line=0, character=0), "utf-16"), "x")
    assert len(doc.cache) == CACHE_SIZE
