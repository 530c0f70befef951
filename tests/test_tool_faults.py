"""The real-tool runner under faults (issue 14): a persistent Credo node killed from outside is replaced
by the next check, and its findings are the same."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from elixir_coder_lsp.tools.credo import CredoRunner
from elixir_coder_lsp.tools.project import ToolSpec
from tests.test_tools import _calls, _project, fake_credo_mix, fake_env, needs_elixir  # noqa: F401 - fake_env is a fixture


@needs_elixir
def test_killed_credo_node_is_replaced_by_the_next_check(tmp_path: Path, fake_env: dict) -> None:  # noqa: F811
    fake_credo_mix(fake_env, tmp_path)
    root = _project(tmp_path / "app", lib=False)
    runner = CredoRunner(root, ToolSpec("mix", ["mix", "credo"]), startup_timeout=60)
    code = "defmodule A do\n  def f(x) do\n    IO.inspect(x)\n  end\nend\n"
    try:
        first = runner.check(code, str(root / "lib" / "a.ex"))
        proc = runner._runner.proc  # noqa: SLF001
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        again = runner.check(code, str(root / "lib" / "a.ex"))
        assert [(f.rule, f.line) for f in again] == [(f.rule, f.line) for f in first]
        assert runner._runner.proc.pid != proc.pid  # noqa: SLF001
        assert len(_calls(fake_env)) == 2  # one start, one restart
    finally:
        runner.close()
