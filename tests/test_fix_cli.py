"""`elixir-coder fix` with a model, without one, and with --no-model: docs/protocol.md's shape and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from elixir_coder_lsp.cli import main
from elixir_coder_lsp.commands.fix import NO_MODEL

SHAPE = {"code", "fixed", "remaining", "attempts", "phases"}

SOURCE = """defmodule Shop.Labels do
  @moduledoc "Labels."

  def label(order) do
    IO.inspect(order)

    if order.paid do
      if order.shipped do
        if order.delivered do
          :done
        end
      end
    end
  end
end
"""


@pytest.fixture
def src(tmp_path: Path) -> Path:
    path = tmp_path / "labels.ex"
    path.write_text(SOURCE)
    return path


def fix(capsys, *argv: str) -> tuple[int, dict, str]:
    code = main(["fix", *argv])
    out = capsys.readouterr()
    return code, json.loads(out.out), out.err


def config(tmp_path: Path, checkpoint: str | Path) -> str:
    path = tmp_path / "c.toml"
    path.write_text(
        f'[models.default]\ncheckpoint = "{checkpoint}"\nmaxNewTokens = 24\n'
        '[generation]\ncandidates = 2\ntemperature = 1.0\nmaxRepairAttempts = 2\ncleanThreshold = "hint"\n'
    )
    return str(path)


def test_fix_no_model_flag(src, tmp_path, capsys):
    code, doc, err = fix(capsys, str(src), "--no-model", "--config", config(tmp_path, tmp_path / "missing"))
    assert set(doc) == SHAPE and code == 0
    assert doc["fixed"] == ["Credo.Check.Warning.IoInspect"] and doc["attempts"] == 1
    assert [p["phase"] for p in doc["phases"]] == ["autofix"] and doc["phases"][0]["fixed"] == doc["fixed"]
    assert [f["rule"] for f in doc["remaining"]] == ["Credo.Check.Refactor.Nesting"]
    assert NO_MODEL not in err and src.read_text() == SOURCE


def test_fix_without_a_configured_model_says_so_once_and_falls_back(src, tmp_path, capsys):
    code, doc, err = fix(capsys, str(src), "--config", config(tmp_path, tmp_path / "missing"), "--write")
    assert err.count(NO_MODEL) == 1
    assert set(doc) == SHAPE and code == 0 and doc["fixed"] == ["Credo.Check.Warning.IoInspect"]
    assert src.read_text() == doc["code"] != SOURCE


def test_fix_with_the_tiny_model(src, tmp_path, capsys, tiny_model_dir, helper):
    code, doc, err = fix(capsys, str(src), "--config", config(tmp_path, tiny_model_dir))
    assert NO_MODEL not in err
    assert set(doc) == SHAPE and code == 0
    phases = [p["phase"] for p in doc["phases"]]
    assert phases[0] == "autofix" and "repair" in phases  # deterministic fixes first, then the model
    assert 1 <= doc["attempts"] <= 2
    assert "Credo.Check.Warning.IoInspect" in doc["fixed"]
    before = {"Credo.Check.Warning.IoInspect", "Credo.Check.Refactor.Nesting"}
    assert {f["rule"] for f in doc["remaining"]} <= before  # a repair never adds a finding
    assert helper.parse(doc["code"]).ok and src.read_text() == SOURCE


def test_fix_exit_codes_for_errors_and_missing_files(tmp_path, capsys):
    broken = tmp_path / "broken.ex"
    broken.write_text("defmodule B do\n  def f(, do: 1\nend\n")
    code, doc, _ = fix(capsys, str(broken), "--no-model")
    assert code == 1 and set(doc) == SHAPE and doc["remaining"][0]["rule"] == "Elixir.SyntaxError"
    assert main(["fix", str(tmp_path / "nope.ex"), "--no-model"]) == 2
