"""`elixir-coder check` (text / json / sarif, exit codes, exclude globs, bad files) and `fix`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from elixir_coder_lsp import cli
from elixir_coder_lsp.elixir import client

BAD = "defmodule Probe do\n  def run(x) do\n    IO.inspect(x)\n    n = 100000\n    {n, x}\n  end\nend\n"
CLEAN = 'defmodule Clean do\n  @moduledoc """\n  Fine.\n  """\n\n  def run(x), do: x\nend\n'


@pytest.fixture
def project(tmp_path: Path, helper: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    # the CLI uses the process-wide helper; hand it the session's (same real BEAM, no second boot)
    monkeypatch.setattr(client, "default_helper", lambda: helper)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "probe.ex").write_text(BAD)
    (tmp_path / "lib" / "clean.ex").write_text(CLEAN)
    (tmp_path / "deps" / "dep").mkdir(parents=True)
    (tmp_path / "deps" / "dep" / "dep.ex").write_text(BAD)
    (tmp_path / "lib" / "notes.txt").write_text("IO.inspect(1)")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_check_json_shape_and_exclude(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", ".", "--json")
    doc = json.loads(out)
    files = {f["file"] for f in doc["findings"]}
    assert files == {"lib/probe.ex"}  # deps/** excluded, clean file clean, .txt not walked
    assert doc["files_checked"] == 2 and doc["errors"] == []
    inspect = next(f for f in doc["findings"] if f["rule"] == "Credo.Check.Warning.IoInspect")
    assert inspect == {
        "rule": "Credo.Check.Warning.IoInspect",
        "source": "elixir-coder",
        "severity": "warning",
        "message": "There should be no calls to `IO.inspect/1`.",
        "file": "lib/probe.ex",
        "line": 3,
        "column": 5,
        "end_line": 3,
        "end_column": 15,
        "cwe": None,
        "fixable": True,
    }
    assert code == 0  # default --fail-on error: warnings do not fail


def test_check_fail_on_and_format_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "lib/probe.ex", "--format", "json", "--fail-on", "warning")
    assert code == 1 and json.loads(out)["findings"]
    code, _, _ = run(capsys, "check", "lib/clean.ex", "--fail-on", "hint")
    assert code == 0


def test_check_text(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "lib")
    assert "lib/probe.ex:3:5: warning: There should be no calls to `IO.inspect/1`. [Credo.Check.Warning.IoInspect]" in out
    assert "2 file(s) checked" in err and code == 0


def test_check_sarif(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "lib", "--format", "sarif")
    doc = json.loads(out)
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1
    run0 = doc["runs"][0]
    rules = run0["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert "Credo.Check.Warning.IoInspect" in ids and len(ids) >= 30
    result = next(r for r in run0["results"] if r["ruleId"] == "Credo.Check.Readability.LargeNumbers")
    assert result["level"] == "warning"
    assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    loc = result["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "lib/probe.ex"
    assert loc["region"] == {"startLine": 4, "startColumn": 9, "endLine": 4, "endColumn": 15}
    assert rules[ids.index("Credo.Check.Warning.IoInspect")]["helpUri"].startswith("https://hexdocs.pm/credo/")


def test_check_bad_files(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "lib" / "bin.ex").write_bytes(b"\x00\x01\x02")
    (project / "lib" / "latin1.ex").write_bytes("defmodule Caf\xe9 do\nend\n".encode("latin-1"))
    code, out, err = run(capsys, "check", "lib/bin.ex", "lib/latin1.ex", "nope.ex", "--json")
    doc = json.loads(out)
    assert code == 2 and doc["findings"] == []
    messages = {e["file"]: e["message"] for e in doc["errors"]}
    assert "binary" in messages["lib/bin.ex"] and "UTF-8" in messages["lib/latin1.ex"]
    assert "no such file" in messages["nope.ex"]
    assert "Traceback" not in err
    # one good file among bad ones: findings are reported, not a tool failure
    code, out, _ = run(capsys, "check", "lib/bin.ex", "lib/probe.ex", "--json", "--fail-on", "warning")
    assert code == 1 and json.loads(out)["files_checked"] == 1


def test_check_honours_credo_exs(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / ".credo.exs").write_text(
        "%{configs: [%{name: \"default\", checks: [{Credo.Check.Warning.IoInspect, false}]}]}"
    )
    _, out, _ = run(capsys, "check", "lib/probe.ex", "--json")
    rules = {f["rule"] for f in json.loads(out)["findings"]}
    assert "Credo.Check.Warning.IoInspect" not in rules
    assert "Credo.Check.Readability.LargeNumbers" in rules


def test_fix_without_and_with_write(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = project / "lib" / "probe.ex"
    code, out, _ = run(capsys, "fix", "lib/probe.ex", "--no-model")
    doc = json.loads(out)
    assert set(doc) == {"code", "fixed", "remaining", "attempts", "phases"}
    assert "Credo.Check.Warning.IoInspect" in doc["fixed"] and "100_000" in doc["code"]
    assert target.read_text() == BAD and code == 0
    code, out, _ = run(capsys, "fix", "lib/probe.ex", "--no-model", "--write", "--json")
    assert target.read_text() == json.loads(out)["code"] != BAD
    code, out, _ = run(capsys, "fix", "lib/probe.ex", "--no-model")
    assert json.loads(out)["fixed"] == []


def test_fix_missing_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "fix", "missing.ex", "--no-model")
    assert code == 2 and "missing.ex" in err


def test_check_uses_real_credo_where_it_runs(tmp_path, monkeypatch, capsys):
    """With a `credo` escript on PATH (a stand-in printing Credo's recorded output), its findings
    replace the built-in Credo rules; the built-in Sobelow rules still run."""
    import os
    import stat
    import sys as _sys
    from pathlib import Path

    from elixir_coder_lsp.cli import main

    reference = Path(__file__).resolve().parent / "data" / "reference" / "calibration"
    src = (reference / "src" / "01_inventory_debug_calls.ex").read_text()
    project = tmp_path / "project"
    (project / "lib").mkdir(parents=True)
    (project / "mix.exs").write_text('defmodule S.MixProject do\n  use Mix.Project\n  def project, do: [app: :s, version: "0.1.0"]\nend\n')
    target = project / "lib" / "inv.ex"
    target.write_text(src)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    recorded = reference / "expected" / "01_inventory_debug_calls.credo.json"
    fake = bin_dir / "credo"
    fake.write_text(f"#!{_sys.executable}\nimport sys\nsys.stdin.read()\nprint(open({str(recorded)!r}).read())\nsys.exit(16)\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    code = main(["check", str(target), "--json", "--fail-on", "warning"])
    doc = json.loads(capsys.readouterr().out)
    sources = {f["source"] for f in doc["findings"]}
    assert "credo" in sources
    assert not [f for f in doc["findings"] if f["source"] == "elixir-coder" and f["rule"].startswith("Credo.")]
    assert code == 1
