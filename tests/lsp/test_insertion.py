"""Where generated code goes: triggers, insertion lines, indentation, entry rules, re-finding the trigger."""

from __future__ import annotations

from elixir_coder_lsp.lsp.insertion import entry_rule_at, find_site, reindent, relocate

DOC = """defmodule Shop.Cart do
  # TODO: add an item to the cart
  # keeping the list sorted

  @doc \"\"\"
  Total price of the cart.
  \"\"\"

  def count(cart) do
    length(cart.items)
  end
end
""".split("\n")

SUMMARY = {"modules": [{"name": "Shop.Cart", "line": 1, "end_line": 12}], "defs": [{"name": "count", "line": 9, "end_line": 11}]}


def test_a_comment_block_is_the_request_and_the_code_goes_after_it() -> None:
    site = find_site(DOC, (2, 5), (2, 5), summary=SUMMARY)
    assert site is not None
    assert site.kind == "comment"
    assert site.request == "add an item to the cart\nkeeping the list sorted"  # the TODO tag is dropped
    assert (site.anchor, site.insert_line, site.indent) == ((1, 2), 3, "  ")
    assert (site.entry_rule, site.module) == ("module_body", "Shop.Cart")


def test_a_doc_heredoc_generates_the_function_it_documents() -> None:
    site = find_site(DOC, (5, 3), (5, 3), summary=SUMMARY)
    assert site is not None and site.kind == "doc"
    assert site.request == "Total price of the cart."
    assert (site.anchor, site.insert_line, site.entry_rule) == ((4, 6), 7, "module_body")


def test_a_selection_is_the_request_and_an_explicit_prompt_wins() -> None:
    site = find_site(DOC, (9, 4), (10, 0), selected_text="length(cart.items)\n", summary=SUMMARY)
    assert site is not None and site.kind == "selection"
    assert (site.request, site.insert_line, site.entry_rule) == ("length(cart.items)", 10, "expr_seq")
    other = find_site(DOC, (2, 0), (2, 0), prompt="remove an item", summary=SUMMARY)
    assert other is not None and other.request == "remove an item"


def test_nothing_triggers_on_plain_code() -> None:
    assert find_site(DOC, (9, 2), (9, 2), summary=SUMMARY) is None
    assert find_site(["  # TODO:"], (0, 0), (0, 0)) is None  # a tag with no request


def test_entry_rule_without_a_summary_follows_the_indentation() -> None:
    assert entry_rule_at(0, "", None) == ("start", None)
    assert entry_rule_at(3, "  ", None) == ("module_body", None)
    assert entry_rule_at(3, "    ", None) == ("expr_seq", None)
    assert entry_rule_at(13, "", SUMMARY) == ("start", None)


def test_reindent_keeps_blank_lines_empty() -> None:
    assert reindent("def a, do: 1\n\ndef b, do: 2\n", "  ") == "  def a, do: 1\n\n  def b, do: 2\n"


def test_relocate_finds_the_trigger_after_lines_were_added_above() -> None:
    site = find_site(DOC, (2, 5), (2, 5), summary=SUMMARY)
    assert site is not None
    anchor = DOC[site.anchor[0] : site.anchor[1] + 1]
    moved = ["# header", "", *DOC]
    assert relocate(moved, site, anchor) == site.insert_line + 2
    assert relocate([line for line in DOC if "TODO" not in line], site, anchor) is None
