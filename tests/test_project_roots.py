"""Per-file projects (docs/protocol.md, "Where the files come from"): in an umbrella, each child app's
`.credo.exs` and `.formatter.exs` apply to its own files, through the façade and the CLI's `check`."""

from __future__ import annotations

import json
from pathlib import Path

from elixir_coder_lsp.api import ElixirCoder
from elixir_coder_lsp.cli import main

NO_IO_INSPECT = '%{configs: [%{name: "default", checks: [{Credo.Check.Warning.IoInspect, false}]}]}\n'
CODE = 'defmodule Demo do\n  @moduledoc false\n  def f(x) do\n    IO.inspect(x)\n  end\nend\n'


def umbrella(root: Path) -> tuple[Path, Path]:
    """An umbrella with two child apps; only `quiet` disables IoInspect and sets line_length 40."""
    (root / "mix.exs").write_text("defmodule Umbrella.MixProject do\nend\n")
    files = []
    for app in ("quiet", "loud"):
        (root / "apps" / app / "lib").mkdir(parents=True)
        (root / "apps" / app / "mix.exs").write_text(f"defmodule {app.title()}.MixProject do\nend\n")
        path = root / "apps" / app / "lib" / "demo.ex"
        path.write_text(CODE)
        files.append(path)
    (root / "apps" / "quiet" / ".credo.exs").write_text(NO_IO_INSPECT)
    (root / "apps" / "quiet" / ".formatter.exs").write_text("[line_length: 40, inputs: []]\n")
    return files[0], files[1]


def test_child_apps_have_their_own_credo_and_formatter(tmp_path: Path, helper) -> None:
    quiet, loud = umbrella(tmp_path)
    coder = ElixirCoder(workspace_root=tmp_path, helper=helper)
    try:
        assert coder.project_root(str(quiet)) == (tmp_path / "apps" / "quiet").resolve()
        assert coder.project_root(None) == tmp_path
        rules = lambda path: {f.rule for f in coder.analyze(CODE, filename=str(path))}  # noqa: E731
        assert "Credo.Check.Warning.IoInspect" not in rules(quiet)
        assert "Credo.Check.Warning.IoInspect" in rules(loud)
        long_call = "Enum.map([1, 2, 3], fn element -> element * 2 end)\n"
        assert "\n" in coder.format_code(long_call, str(quiet)).strip()  # wrapped at 40
        assert "\n" not in coder.format_code(long_call, str(loud)).strip()
    finally:
        coder.close()


def test_cli_check_uses_each_files_project(tmp_path: Path, capsys, monkeypatch) -> None:
    quiet, loud = umbrella(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["check", str(quiet), str(loud), "--json", "--fail-on", "hint"]) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert {f["file"] for f in findings if f["rule"] == "Credo.Check.Warning.IoInspect"} == {str(loud)}


def test_a_file_outside_any_mix_project_uses_its_own_workspace_folder(tmp_path: Path, helper) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for folder in (first, second):
        (folder / "lib").mkdir(parents=True)
    (second / ".credo.exs").write_text(NO_IO_INSPECT)  # a folder with a .credo.exs is its own project
    (first / ".formatter.exs").write_text("[line_length: 40]\n")
    coder = ElixirCoder(workspace_root=first, helper=helper)
    coder.set_workspace_root(first, [first, second])
    try:
        assert coder.project_root(str(second / "lib" / "a.ex")) == second.resolve()
        (second / ".credo.exs").unlink()
        assert coder.project_root(str(second / "lib" / "a.ex")) == second  # no project files: its folder
        assert coder.project_root(str(first / "lib" / "a.ex")) == first
        assert coder.project_root(str(tmp_path / "elsewhere.ex")) == first  # outside every folder
    finally:
        coder.close()
