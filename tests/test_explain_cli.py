"""`elixir-coder explain FILE:LINE[:COL]` and the markdown it prints."""

from __future__ import annotations

import json

from elixir_coder_lsp.cli import main

CODE = 'defmodule A do\n  @moduledoc false\n  def f(x), do: IO.inspect(String.to_atom(x))\nend\n'


def test_explain_line_lists_every_finding_on_it(tmp_path, capsys):
    path = tmp_path / "a.ex"
    path.write_text(CODE)
    assert main(["explain", f"{path}:3", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rules = {e["finding"]["rule"] for e in doc["explanations"]}
    assert {"Credo.Check.Warning.IoInspect", "Sobelow.DOS.StringToAtom"} <= rules
    for e in doc["explanations"]:
        assert "**Why.**" in e["markdown"] and "**How to fix.**" in e["markdown"]


def test_explain_column_picks_the_finding_under_it(tmp_path, capsys):
    path = tmp_path / "a.ex"
    path.write_text(CODE)
    column = CODE.splitlines()[2].index("String.to_atom") + 2
    assert main(["explain", f"{path}:3:{column}", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [e["finding"]["rule"] for e in doc["explanations"]] == ["Sobelow.DOS.StringToAtom"]
    assert "CWE-" in doc["explanations"][0]["markdown"]


def test_explain_nothing_there_and_bad_target(tmp_path, capsys):
    path = tmp_path / "a.ex"
    path.write_text(CODE)
    assert main(["explain", f"{path}:1"]) == 1
    assert main(["explain", "no-colon"]) == 2
    assert main(["explain", f"{tmp_path / 'missing.ex'}:1"]) == 2


def test_explain_no_model_and_with_a_tiny_model(tmp_path, capsys, monkeypatch, tiny_model_dir):
    """--no-model leaves the paragraph out; with a (forced) tiny model the paragraph is in the markdown."""
    from pathlib import Path

    paragraph = "Here String.to_atom turns the argument of f into a new atom on every call, and atoms are never freed."
    monkeypatch.setenv("ELIXIR_CODER_MODEL", str(tiny_model_dir))
    monkeypatch.setenv("ELIXIR_CODER_TEST_LOGITS_PROCESSOR", f"{Path(__file__).resolve().parent / 'e2e' / 'forced_paragraph.py'}:factory")
    monkeypatch.setenv("ELIXIR_CODER_TEST_FORCED_TEXT", paragraph)
    path = tmp_path / "a.ex"
    path.write_text(CODE)
    column = CODE.splitlines()[2].index("String.to_atom") + 2
    assert main(["explain", f"{path}:3:{column}", "--no-model"]) == 0
    plain = capsys.readouterr().out
    assert paragraph not in plain and "**Why.**" in plain
    assert main(["explain", f"{path}:3:{column}", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    markdown = doc["explanations"][0]["markdown"]
    assert f"**In `f/1`.** {paragraph}" in markdown
    assert markdown.replace(f"**In `f/1`.** {paragraph}\n\n", "") == plain.rstrip("\n") + "\n"
