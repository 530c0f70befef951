"""A real vLLM (CPU) server on a tiny random model, shared by the tests in this directory.

The server comes from bench/vllm_server.py (also used by bench/vllm_serving.py). Where the engine cannot
run here (no virtualenv, vLLM does not import, the CPU lacks an instruction it needs) every test is
skipped with the reason, which `pytest -rs` prints.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from vllm_server import VllmServer, VllmUnavailable, build_model, existing_server, start  # noqa: E402

_REPORT: list[str] = []  # lines for the terminal summary (server start time)


@pytest.fixture(scope="session")
def vllm_server() -> Iterator[VllmServer]:
    """Start `vllm.entrypoints.openai.api_server` with the guidance structured-output backend; stop it after the session."""
    if os.environ.get("VLLM_TEST_URL"):
        try:
            server = existing_server(os.environ["VLLM_TEST_URL"])
        except VllmUnavailable as exc:
            pytest.skip(str(exc))
        yield server
        return
    # Not pytest's tmp_path: other pytest sessions on the machine prune those while the server still reads it.
    work = Path(tempfile.mkdtemp(prefix="elixir-coder-vllm-"))
    try:
        server = start(build_model(work / "tiny-llama"), work)
    except VllmUnavailable as exc:
        shutil.rmtree(work, ignore_errors=True)
        if exc.machine:
            pytest.skip(str(exc))
        pytest.fail(str(exc), pytrace=False)
    _REPORT.append(f"vLLM server ready on {server.url} in {server.started_s:.1f} s")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say how long the server took to start: CI budgets this stage."""
    for line in _REPORT:
        terminalreporter.write_line(line)
