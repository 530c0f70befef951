"""Untrusted code and secrets (issue 14): code is parsed, never run; the atom table survives any input;
an API key never reaches a message or a log line."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from elixir_coder_lsp.api import ElixirCoder
from elixir_coder_lsp.config import parse_settings
from elixir_coder_lsp.elixir.client import ElixirHelper
from elixir_coder_lsp.inference.types import GenerationError, GenerationRequest
from tests.test_openai_backend import FakeServer, Reply, backend_for, serve  # noqa: F401 - serve is a fixture


def _side_effects(marker: Path) -> str:
    """Code that leaves a file behind if anything evaluates or compiles it (at compile time too)."""
    touch = f'File.write!("{marker}", "ran")'
    return (
        f"{touch}\n"
        f"defmodule Evil do\n  {touch}\n  @x {touch}\n  def f, do: {touch}\n"
        f'  def g, do: System.cmd("touch", ["{marker}"])\nend\n'
        f'defmacro m, do: {touch}\nrequire Evil\nEvil.f()\n'
    )


def test_opened_and_generated_code_is_parsed_never_evaluated(helper: ElixirHelper, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    code = _side_effects(marker)
    assert helper.parse(code).ok
    helper.summary(code)
    helper.format(code)
    helper.request("check", {"code": code, "filename": str(tmp_path / "evil.ex"), "sets": ["credo", "sobelow"]})
    settings, _ = parse_settings({})
    coder = ElixirCoder(settings, helper=helper)
    try:
        findings = coder.analyze(code, filename=str(tmp_path / "evil.ex"))
    finally:
        coder.close()
    assert findings is not None
    assert not marker.exists()


def test_two_million_distinct_identifiers_are_survived_by_recycling() -> None:
    """The helper's own atom table (the BEAM default, 1,048,576) and recycling threshold: 100 requests
    of 20,000 new identifiers each, as a stream of generated and opened files would bring."""
    with ElixirHelper(timeout=60.0) as h:
        first_pid = h.request("stats") and h.pid
        for batch in range(100):
            code = "\n".join("x = " + " + ".join(f"id{batch}_{line}_{k}" for k in range(20)) for line in range(1_000))
            assert h.parse(code).ok
        stats = h.stats()
        assert stats["recycles"] >= 1 and stats["pid"] != first_pid
        assert stats["atom_count"] < 0.9 * stats["atom_limit"]
        assert h.parse("y = 1").ok


SECRET = "sk-test-3f9a1c77d2e04b8b9a51e0c4d3b2a1f0"


@pytest.mark.parametrize("status", [401, 500])
def test_api_key_never_appears_in_messages_or_logs(serve, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, status: int) -> None:  # noqa: F811
    """A server that echoes the Authorization header in its error text: the key is still in no message."""
    monkeypatch.setenv("EC_TEST_API_KEY", SECRET)

    def reply(path: str, body: dict[str, Any]) -> Reply:
        auth = server.requests[-1][1].get("Authorization", "")
        return Reply(status=status, body={"error": {"message": f"Incorrect API key provided: {auth}"}})

    server: FakeServer = serve(reply)
    statuses: list[Any] = []
    caplog.set_level(logging.DEBUG)
    backend = backend_for(server.url, engine="vllm", api_key_env="EC_TEST_API_KEY", on_status=statuses.append)
    try:
        with pytest.raises(GenerationError) as info:
            backend.submit(GenerationRequest("p")).result(10)
    finally:
        backend.close()
    assert server.requests and server.requests[-1][1]["Authorization"] == f"Bearer {SECRET}"  # the key was sent ...
    assert "Incorrect API key provided" in str(info.value)
    assert SECRET not in str(info.value)  # ... and is in no message,
    assert SECRET not in caplog.text  # no log line,
    assert all(SECRET not in repr(s) for s in statuses)  # and no status
