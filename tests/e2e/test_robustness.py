"""Bad input through the real server over stdio: every request gets an answer, the server stays up (issue 14)."""

from __future__ import annotations

import json

import pytest

from bench.rawlsp import RawServer, descendants, frame, listening_sockets

URI = "file:///tmp/e2e/robust.ex"


@pytest.fixture
def server(tmp_path):
    s = RawServer(stderr_path=tmp_path / "server.log")
    yield s
    s.close()


@pytest.fixture
def ready(server: RawServer) -> RawServer:
    assert server.initialize({"checks": {"onChangeDebounceMs": 0}}) is not None
    return server


def _error(resp: dict | None) -> dict:
    assert resp is not None, "no response"
    assert "error" in resp, resp
    return resp["error"]


def _still_serving(s: RawServer) -> None:
    assert s.alive()
    resp = s.request("textDocument/hover", {"textDocument": {"uri": URI}, "position": {"line": 0, "character": 0}})
    assert resp is not None and "result" in resp, resp


def test_request_before_initialize_is_refused_with_server_not_initialized(server: RawServer):
    err = _error(server.request("textDocument/hover", {"textDocument": {"uri": URI}, "position": {"line": 0, "character": 0}}, msg_id=1))
    assert err["code"] == -32002 and "initialize" in err["message"]
    server.notify("textDocument/didOpen", {"textDocument": {"uri": URI, "languageId": "elixir", "version": 1, "text": "x"}})
    assert server.initialize() is not None
    _still_serving(server)


@pytest.mark.parametrize(
    "method, params",
    [
        ("textDocument/codeAction", {"bogus": 1}),
        ("textDocument/hover", {"textDocument": {"uri": 5}, "position": {"line": "x"}}),
        ("textDocument/hover", None),
        ("workspace/executeCommand", {"command": 42}),
        ("workspace/executeCommand", {"command": "elixirCoder.cancel", "arguments": []}),
        ("codeAction/resolve", [1, 2, 3]),
    ],
)
def test_params_that_do_not_fit_the_schema_get_invalid_params(ready: RawServer, method: str, params):
    err = _error(ready.request(method, params, msg_id="bad-1"))
    assert err["code"] == -32602, err
    _still_serving(ready)


def test_the_error_names_what_is_wrong(ready: RawServer):
    err = _error(ready.request("textDocument/codeAction", {"bogus": 1}, msg_id=7))
    assert "textDocument" in err["message"]


def test_malformed_frames_get_an_error_and_do_not_stop_the_server(ready: RawServer):
    ready.send_bytes(frame(b"{not json"))
    ready.send_bytes(frame(b"\xff\xfe\x00garbage"))
    ready.send_bytes(frame(b"[1, 2, 3]"))
    ready.send_bytes(frame(b'"just a string"'))
    ready.send_bytes(b"X-Garbage-Header: 1\r\n")
    ready.send({"id": 99, "method": "textDocument/hover"})  # no "jsonrpc"
    hover = {"textDocument": {"uri": URI}, "position": {"line": 0, "character": 0}}
    ready.send({"jsonrpc": "1.0", "id": 98, "method": "textDocument/hover", "params": hover})
    ready.send({"jsonrpc": "2.0", "id": 1.5, "method": "textDocument/hover", "params": {}})
    assert _error(ready.wait_response(99))["code"] == -32600
    assert _error(ready.wait_response(98))["code"] == -32600
    codes = ready.wait_for(lambda s: len(s.null_id_errors) >= 5 and [e["error"]["code"] for e in s.null_id_errors])
    assert codes is not None and codes.count(-32700) == 2 and codes.count(-32600) == 3, codes
    assert all("id" in e for e in ready.null_id_errors)  # "id": null, as JSON-RPC asks
    _still_serving(ready)


def test_odd_requests_are_answered_under_their_id(ready: RawServer):
    deep = "[" * 500 + "]" * 500
    ready.send_bytes(frame(b'{"jsonrpc": "2.0", "id": 11, "method": null, "params": false}'))
    ready.send_bytes(frame(b'{"jsonrpc": "2.0", "id": 12, "method": "textDocument/didClose", "params": {"textDocument": {"uri": "file:///x.ex"}}}'))
    ready.send_bytes(frame(('{"jsonrpc": "2.0", "id": 13, "method": "codeAction/resolve", "params": {"title": "t", "data": %s}}' % deep).encode()))
    ready.send_bytes(frame(b'{"jsonrpc": "2.0", "id": {"a": 1}, "method": "textDocument/hover", "params": null}'))
    assert _error(ready.wait_response(11))["code"] == -32600
    assert "notification" in _error(ready.wait_response(12))["message"]
    assert _error(ready.wait_response(13))["code"] == -32603  # a result too deep to serialize
    assert ready.wait_for(lambda s: s.null_id_errors)
    assert ready.bad_id_responses == []
    _still_serving(ready)


def test_unknown_method_and_unknown_document(ready: RawServer):
    assert _error(ready.request("textDocument/nonsense", {}))["code"] == -32601
    other = "file:///nowhere/never-opened.ex"
    assert ready.request("textDocument/hover", {"textDocument": {"uri": other}, "position": {"line": 3, "character": 9}})["result"] is None
    resp = ready.request(
        "textDocument/codeAction",
        {"textDocument": {"uri": other}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "context": {"diagnostics": []}},
    )
    assert resp is not None and ("result" in resp or resp["error"]["code"] in (-32602, -32603)), resp
    _still_serving(ready)


def test_out_of_range_positions(ready: RawServer):
    ready.notify("textDocument/didOpen", {"textDocument": {"uri": URI, "languageId": "elixir", "version": 1, "text": "x = 1\n"}})
    for line, character in ((10**6, 0), (0, 10**6), (2**31 - 1, 2**31 - 1)):
        resp = ready.request("textDocument/hover", {"textDocument": {"uri": URI}, "position": {"line": line, "character": character}})
        assert resp is not None and "result" in resp, resp
        rng = {"start": {"line": line, "character": character}, "end": {"line": line, "character": character}}
        resp = ready.request("textDocument/codeAction", {"textDocument": {"uri": URI}, "range": rng, "context": {"diagnostics": []}})
        assert resp is not None and ("result" in resp or "error" in resp), resp
    # an edit far outside the document does not lose it
    ready.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"range": {"start": {"line": 999, "character": 0}, "end": {"line": 999, "character": 5}}, "text": "y"}]},
    )
    assert ready.wait_for(lambda s: [p for p in s.published(URI) if p.get("version") == 2])
    _still_serving(ready)


def test_requests_after_shutdown_are_refused_and_exit_still_works(ready: RawServer):
    assert "result" in ready.request("shutdown", None, msg_id="sd")
    err = _error(ready.request("textDocument/hover", {"textDocument": {"uri": URI}, "position": {"line": 0, "character": 0}}, msg_id="late"))
    assert err["code"] == -32600 and "shutting down" in err["message"]
    ready.notify("exit", None)
    assert ready.proc.wait(15) == 0


def test_the_server_opens_no_listening_socket(ready: RawServer):
    ready.notify("textDocument/didOpen", {"textDocument": {"uri": URI, "languageId": "elixir", "version": 1, "text": "defmodule A do\nend\n"}})
    assert ready.wait_for(lambda s: s.published(URI), timeout=60)
    children = descendants(ready.pid)
    assert children, "the Elixir helper should be running"
    for pid in [ready.pid, *children]:  # the server and its helper (BEAM): no listening TCP/UDP socket
        assert listening_sockets(pid) == [], pid
