"""Faults through the real server (issue 14): a model worker that keeps crashing ends as a failed instance
with the reason, and diagnostics and hover keep working; a killed Elixir helper is replaced."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from bench.rawlsp import RawServer, descendants

BROKEN = "defmodule A do\n  def f(x) do\n    g(x\n  end\nend\n"
TODO = 'defmodule B do\n  @moduledoc "B."\n\n  # TODO: return the sum of a list\nend\n'


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _workers(s: RawServer) -> set[int]:
    return {p for p in descendants(s.pid) if "spawn_main" in _cmdline(p) and "resource_tracker" not in _cmdline(p)}


def _helpers(s: RawServer) -> set[int]:
    return {p for p in descendants(s.pid) if "beam" in _cmdline(p)}


def _statuses(s: RawServer) -> list[dict]:
    return [n["params"] for n in s.notifications if n["method"] == "elixirCoder/status" and n["params"].get("instance") == "default"]


def _open(s: RawServer, uri: str, text: str, version: int = 1) -> None:
    s.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "elixir", "version": version, "text": text}})


@pytest.fixture
def server(tiny_model_dir, tmp_path):
    s = RawServer(stderr_path=tmp_path / "server.log")
    init = {
        "checks": {"onChangeDebounceMs": 0},
        "explanations": {"useModel": False},
        "models": {"default": {"checkpoint": str(tiny_model_dir), "maxNewTokens": 8, "preload": True}},
        "generation": {"candidates": 1},
    }
    assert s.initialize(init) is not None
    yield s
    s.close()


def test_a_worker_that_keeps_crashing_fails_the_instance_with_the_reason(server: RawServer):
    killed: set[int] = set()
    for _ in range(5):  # MAX_CRASHES within CRASH_WINDOW_S (60 s)
        fresh = server.wait_for(lambda s: (_workers(s) - killed) if (_statuses(s) or [{}])[-1].get("state") == "idle" else None, timeout=120)
        assert fresh, _statuses(server)
        pid = fresh.pop()
        os.kill(pid, signal.SIGKILL)
        killed.add(pid)
        assert server.wait_for(lambda s: (_statuses(s) or [{}])[-1].get("state") != "idle", timeout=30)
    failed = server.wait_for(lambda s: [st for st in _statuses(s) if st["state"] == "failed"], timeout=60)
    assert failed and len(failed) == 1, _statuses(server)
    assert "crashed 5 times" in failed[0]["message"] and "killed" in failed[0]["message"].lower(), failed[0]
    shown = server.wait_for(lambda s: [n for n in s.notifications if n["method"] == "window/showMessage" and "unavailable" in n["params"]["message"]])
    assert shown and "crashed 5 times" in shown[0]["params"]["message"]
    assert not _workers(server) - killed  # no restart loop

    # generation answers with a clear error and edits nothing; diagnostics and hover keep working
    uri = "file:///tmp/e2e/faults/todo.ex"
    _open(server, uri, TODO)
    assert server.wait_for(lambda s: s.published(uri), timeout=60)
    before = len(server.notifications)
    resp = server.request("workspace/executeCommand", {"command": "elixirCoder.generate", "arguments": [{"uri": uri, "range": {"start": {"line": 3, "character": 4}, "end": {"line": 3, "character": 4}}}]})
    assert resp is not None and ("result" in resp or "error" in resp), resp
    error = server.wait_for(lambda s: [n for n in s.notifications[before:] if n["method"] == "window/showMessage" and n["params"]["type"] == 1], timeout=60)
    assert error, "no error shown for generation on a failed instance"
    assert not [r for r in server.server_requests if r["method"] == "workspace/applyEdit"]
    broken = "file:///tmp/e2e/faults/broken.ex"
    _open(server, broken, BROKEN)
    diags = server.wait_for(lambda s: [d for p in s.published(broken) for d in p["diagnostics"] if d.get("source") == "elixir"], timeout=60)
    assert diags
    hover = server.request("textDocument/hover", {"textDocument": {"uri": broken}, "position": diags[0]["range"]["start"]})
    assert hover is not None and "result" in hover, hover


def test_a_killed_elixir_helper_is_replaced_and_diagnostics_come_back(server: RawServer):
    uri = "file:///tmp/e2e/faults/helper.ex"
    _open(server, uri, BROKEN)
    assert server.wait_for(lambda s: s.published(uri), timeout=60)
    (old,) = _helpers(server)
    os.kill(old, signal.SIGKILL)
    for version in range(2, 5):
        server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": BROKEN + f"# {version}\n"}]})
    published = server.wait_for(lambda s: [p for p in s.published(uri) if p["version"] == 4 and p["diagnostics"]], timeout=60)
    assert published, server.published(uri)
    assert _helpers(server) and old not in _helpers(server)
    assert server.alive()
