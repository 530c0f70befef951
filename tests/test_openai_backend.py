"""Protocol-level tests of the OpenAI-compatible backend: request bodies, SSE parsing, errors, cancellation.

The server here is a small http.server on 127.0.0.1 speaking the `/v1/completions` streaming shapes;
it checks what the backend sends and how it reads replies. The real engine is tested in tests/vllm/.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from elixir_coder_lsp.settings import ModelSettings
from elixir_coder_lsp.inference.backends.openai import OpenAIBackend
from elixir_coder_lsp.inference.backends.openai_wire import build_payload, error_message, iter_sse
from elixir_coder_lsp.inference.types import GenerationError, GenerationRequest, SamplingParams, StreamEvent

GRAMMAR = '%llguidance {}\nstart: "yes" | "no"\n'


@dataclass
class Reply:
    """What the fake server answers: a status, and either an error body or SSE events (with pauses)."""

    status: int = 200
    body: dict[str, Any] | None = None
    events: list[dict[str, Any] | str] = field(default_factory=list)
    pause_s: float = 0.0  # between events
    hang_s: float = 0.0  # after the events, before [DONE]


class FakeServer:
    """A threaded HTTP server that records requests and answers with ``self.reply(path, body)``."""

    def __init__(self, reply: Callable[[str, dict[str, Any]], Reply], owned_by: str = "vllm") -> None:
        self.reply = reply
        self.owned_by = owned_by
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.disconnected = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path != "/v1/models":
                    self.send_error(404)
                    return
                data = json.dumps({"object": "list", "data": [{"id": "served-model", "owned_by": outer.owned_by}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                outer.requests.append((self.path, dict(self.headers), body))
                reply = outer.reply(self.path, body)
                if reply.status != 200:
                    data = json.dumps(reply.body or {}).encode()
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    for event in reply.events:
                        payload = event if isinstance(event, str) else f"data: {json.dumps(event)}\n\n"
                        self._chunk(payload.encode())
                        time.sleep(reply.pause_s)
                    time.sleep(reply.hang_s)
                    self._chunk(b"data: [DONE]\n\n")
                    self._chunk(b"")
                except OSError:
                    outer.disconnected.set()

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def chunk(
    index: int, text: str, *, ids: list[int] | None = None, lp: list[float] | None = None, finish: str | None = None, stop_reason: Any = None
) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": index, "text": text, "finish_reason": finish, "stop_reason": stop_reason}
    if ids is not None:
        choice["token_ids"] = ids
    if lp is not None:
        choice["logprobs"] = {"tokens": [text], "token_logprobs": lp, "top_logprobs": None, "text_offset": [0]}
    return {"id": "cmpl-1", "object": "text_completion", "model": "m", "choices": [choice]}


@pytest.fixture
def serve() -> Iterator[Callable[..., FakeServer]]:
    servers: list[FakeServer] = []

    def start(reply: Callable[[str, dict[str, Any]], Reply], owned_by: str = "vllm") -> FakeServer:
        server = FakeServer(reply, owned_by)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def backend_for(url: str, **kwargs: Any) -> OpenAIBackend:
    settings = ModelSettings(checkpoint=kwargs.pop("checkpoint", "tiny"), backend="openai", url=url, api_key_env=kwargs.pop("api_key_env", ""))
    kwargs.setdefault("grammar_text", lambda entry, extra: GRAMMAR)
    kwargs.setdefault("read_timeout_s", 10.0)
    return OpenAIBackend("remote", settings, **kwargs)


def test_payload_vllm_uses_structured_outputs_and_never_guided_grammar() -> None:
    request = GenerationRequest("defmodule", SamplingParams(n=3, temperature=0.5, top_p=0.9, seed=7, max_new_tokens=40, stop=["\n\n"], logprobs=True))
    body = build_payload(request, model="m", engine="vllm", grammar=GRAMMAR)
    assert body["structured_outputs"] == {"grammar": GRAMMAR}
    assert "guided_grammar" not in body and "ebnf" not in body
    expected = {"model": "m", "prompt": "defmodule", "n": 3, "temperature": 0.5, "top_p": 0.9, "seed": 7,
                "max_tokens": 40, "stop": ["\n\n"], "logprobs": 1, "stream": True}
    assert {key: body[key] for key in expected} == expected


def test_payload_sglang_uses_ebnf_and_omits_unset_fields() -> None:
    request = GenerationRequest("x", SamplingParams())
    body = build_payload(request, model="m", engine="sglang", grammar=GRAMMAR)
    assert body["ebnf"] == GRAMMAR
    assert "structured_outputs" not in body and "guided_grammar" not in body
    assert "seed" not in body and "stop" not in body and "logprobs" not in body and "return_token_ids" not in body
    assert "ebnf" not in build_payload(request, model="m", engine="sglang", grammar=None)


def test_iter_sse_joins_data_lines_skips_comments_and_stops_at_done() -> None:
    raw = [b": keep-alive\n", b"data: {\"a\":\n", b"data: 1}\n", b"\n", b"event: x\n", b"data: {\"b\": 2}\r\n", b"\r\n", b"data: [DONE]\n", b"\n", b"data: {\"c\": 3}\n", b"\n"]
    assert list(iter_sse(iter(raw))) == [{"a": 1}, {"b": 2}]


def test_error_message_reads_both_error_shapes() -> None:
    assert error_message(b'{"error": {"message": "bad grammar", "type": "BadRequestError", "code": 400}}') == "bad grammar"
    assert error_message(b'{"object": "error", "message": "too long", "code": 400}') == "too long"
    assert error_message(b"plain text") == "plain text"


def test_streams_interleaved_samples_with_logprobs_and_token_ids(serve: Callable[..., FakeServer], monkeypatch: pytest.MonkeyPatch) -> None:
    events = [
        chunk(0, "ye", ids=[5], lp=[-0.5]),
        chunk(1, "n", ids=[9], lp=[-1.0]),
        chunk(0, "s", ids=[6], lp=[-0.25], finish="stop"),
        chunk(1, "o", ids=[10], lp=[-0.5], finish="length"),
        {"id": "cmpl-1", "object": "text_completion", "choices": [], "usage": {"prompt_tokens": 2, "completion_tokens": 4}},
    ]
    server = serve(lambda path, body: Reply(events=events))
    backend = backend_for(server.url, api_key_env="F_TEST_KEY")
    seen: list[StreamEvent] = []
    monkeypatch.setenv("F_TEST_KEY", "sekret")
    try:
        result = backend.submit(GenerationRequest("p", SamplingParams(n=2, logprobs=True), constrained=True), seen.append).result(10)
    finally:
        backend.close()
    path, headers, body = server.requests[0]
    assert path == "/v1/completions"
    assert headers["Authorization"] == "Bearer sekret"
    assert body["structured_outputs"] == {"grammar": GRAMMAR} and body["model"] == "tiny" and body["n"] == 2
    first, second = result.completions
    assert (first.text, first.token_ids, first.finish_reason, first.num_tokens) == ("yes", [5, 6], "stop", 2)
    assert (second.text, second.finish_reason, second.truncated) == ("no", "length", True)
    assert first.logprob == pytest.approx(-0.75) and first.mean_logprob == pytest.approx(-0.375)
    tokens = [(e.index, e.text, e.tokens_so_far) for e in seen if e.kind == "token"]
    assert tokens == [(0, "ye", 1), (1, "n", 1), (0, "s", 2), (1, "o", 2)]
    assert [e.phase for e in seen if e.kind == "phase"] == ["queued", "generating"]
    assert seen[-1].kind == "done"
    assert set(result.timings) == {"queued_s", "first_token_s", "total_s"}
    status = backend.status()
    assert status.backend == "openai" and status.requests == 1 and status.p50_ms is not None


def test_detects_sglang_and_model_from_v1_models(serve: Callable[..., FakeServer]) -> None:
    server = serve(lambda path, body: Reply(events=[chunk(0, "yes", finish="stop")]), owned_by="sglang")
    backend = backend_for(server.url, checkpoint="")
    try:
        result = backend.submit(GenerationRequest("p", constrained=True)).result(10)
    finally:
        backend.close()
    body = server.requests[0][2]
    assert body["ebnf"] == GRAMMAR and "structured_outputs" not in body
    assert body["model"] == "served-model"
    assert result.completions[0].text == "yes"
    assert result.completions[0].num_tokens == 1  # no ids or logprobs: one per chunk with text


def test_bad_grammar_400_is_a_clear_message(serve: Callable[..., FakeServer]) -> None:
    detail = "grammar error: Unknown rule 'nope' at line 2"
    server = serve(lambda path, body: Reply(status=400, body={"error": {"message": detail, "type": "BadRequestError", "code": 400}}))
    backend = backend_for(server.url, engine="vllm")
    try:
        with pytest.raises(GenerationError) as info:
            backend.submit(GenerationRequest("p", constrained=True)).result(10)
    finally:
        backend.close()
    assert str(info.value) == f"the vLLM server rejected the grammar: {detail}"
    assert info.value.kind == "error"


def test_grammar_error_inside_the_stream_is_a_clear_message(serve: Callable[..., FakeServer]) -> None:
    # vLLM answers a streaming request 200 first and reports the rejected grammar as an event.
    detail = 'Grammar error: at 1(8): unknown name: "nope"'
    event = {"error": {"message": detail, "type": "BadRequestError", "param": None, "code": 400}}
    server = serve(lambda path, body: Reply(events=[event]))
    backend = backend_for(server.url, engine="vllm")
    try:
        with pytest.raises(GenerationError) as info:
            backend.submit(GenerationRequest("p", constrained=True)).result(10)
    finally:
        backend.close()
    assert str(info.value) == f"the vLLM server rejected the grammar: {detail}"


def test_end_of_sequence_chunk_is_not_a_token_of_the_sample(serve: Callable[..., FakeServer]) -> None:
    events = [chunk(0, "yes", ids=[5], lp=[-0.5]), chunk(0, "", ids=[2], lp=[-0.1], finish="stop")]
    server = serve(lambda path, body: Reply(events=events))
    backend = backend_for(server.url, engine="vllm")
    seen: list[StreamEvent] = []
    try:
        completion = backend.submit(GenerationRequest("p", SamplingParams(logprobs=True)), seen.append).result(10).completions[0]
    finally:
        backend.close()
    assert (completion.token_ids, completion.num_tokens, completion.finish_reason) == ([5], 1, "stop")
    assert completion.logprob == pytest.approx(-0.6)  # the stop decision is part of the sample's score
    assert [e.text for e in seen if e.kind == "token"] == ["yes"]


def test_a_stop_string_token_stays_a_token_of_the_sample(serve: Callable[..., FakeServer]) -> None:
    # vLLM trims the stop string from the text but the token that completed it was generated.
    events = [chunk(0, "yes", ids=[5]), chunk(0, "", ids=[7], finish="stop", stop_reason="\n\n")]
    server = serve(lambda path, body: Reply(events=events))
    backend = backend_for(server.url, engine="vllm")
    try:
        completion = backend.submit(GenerationRequest("p", SamplingParams(stop=["\n\n"]))).result(10).completions[0]
    finally:
        backend.close()
    assert (completion.text, completion.token_ids, completion.finish_reason) == ("yes", [5, 7], "stop")


def test_server_abort_is_an_error_not_a_success(serve: Callable[..., FakeServer]) -> None:
    server = serve(lambda path, body: Reply(events=[chunk(0, "ye", finish="abort")]))
    backend = backend_for(server.url, engine="sglang")
    try:
        result = backend.submit(GenerationRequest("p")).result(10)
    finally:
        backend.close()
    assert result.completions[0].finish_reason == "error"
    assert result.error is not None and "abort" in result.error


def test_a_redone_sample_that_fails_is_reported(serve: Callable[..., FakeServer]) -> None:
    # the server's matcher failed (one-token "program"), and the sample redone without the grammar was aborted
    grammar = 'start: "defmodule A do" NL "end"\nNL: "\\n"\n'
    constrained = [chunk(0, "defmodule", ids=[5], lp=[-0.5]), chunk(0, "", ids=[2], lp=[-0.1], finish="stop")]
    free = [chunk(0, "defmo", ids=[5], lp=[-0.7], finish="abort")]
    server = serve(lambda path, body: Reply(events=constrained if "structured_outputs" in body else free))
    backend = backend_for(server.url, engine="vllm", grammar_text=lambda rule, extra: grammar)
    try:
        result = backend.submit(GenerationRequest("p", SamplingParams(n=1), constrained=True)).result(10)
    finally:
        backend.close()
    assert result.completions[0].finish_reason == "error"
    assert result.error is not None and "sample 0 ended with abort" in result.error


def test_other_http_errors_name_the_server(serve: Callable[..., FakeServer]) -> None:
    server = serve(lambda path, body: Reply(status=401, body={"error": {"message": "Unauthorized"}}))
    backend = backend_for(server.url, engine="vllm", api_key_env="F_MISSING_KEY")
    try:
        with pytest.raises(GenerationError) as info:
            backend.submit(GenerationRequest("p")).result(10)
    finally:
        backend.close()
    assert "HTTP 401" in str(info.value) and "$F_MISSING_KEY" in str(info.value) and server.url in str(info.value)


def test_connection_refused_is_unavailable_and_names_the_url() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    seen: list[Any] = []
    backend = backend_for(url, engine="vllm", on_status=seen.append)
    try:
        with pytest.raises(GenerationError) as info:
            backend.submit(GenerationRequest("p")).result(10)
        assert backend.status().state == "failed"
    finally:
        backend.close()
    assert info.value.kind == "unavailable"
    assert url in str(info.value) and "connection refused" in str(info.value)
    assert any(s.state == "failed" for s in seen)


def test_missing_url_is_a_clear_error() -> None:
    backend = backend_for("", engine="vllm")
    try:
        with pytest.raises(GenerationError, match="url is not set"):
            backend.submit(GenerationRequest("p")).result(10)
    finally:
        backend.close()


def test_read_timeout(serve: Callable[..., FakeServer]) -> None:
    server = serve(lambda path, body: Reply(events=[chunk(0, "y")], hang_s=3.0))
    backend = backend_for(server.url, engine="vllm", read_timeout_s=0.5)
    try:
        with pytest.raises(GenerationError) as info:
            backend.submit(GenerationRequest("p")).result(10)
    finally:
        backend.close()
    assert info.value.kind == "timeout"


def test_cancel_mid_stream_closes_the_connection(serve: Callable[..., FakeServer]) -> None:
    server = serve(lambda path, body: Reply(events=[chunk(0, "x")] * 200, pause_s=0.02))
    backend = backend_for(server.url, engine="vllm")
    first_token = threading.Event()

    def on_event(event: StreamEvent) -> None:
        if event.kind == "token":
            first_token.set()

    try:
        future = backend.submit(GenerationRequest("p", id="req-1"), on_event)
        assert first_token.wait(10)
        assert backend.cancel("req-1")
        with pytest.raises(GenerationError) as info:
            future.result(5)
        assert info.value.kind == "cancelled"
        assert server.disconnected.wait(5)  # the server saw the client go away
        assert not backend.cancel("req-1")  # no longer known
    finally:
        backend.close()


def test_mid_stream_error_event_fails_the_request(serve: Callable[..., FakeServer]) -> None:
    server = serve(lambda path, body: Reply(events=[chunk(0, "y"), {"error": {"message": "engine died", "code": 500}}]))
    backend = backend_for(server.url, engine="vllm")
    try:
        with pytest.raises(GenerationError, match="engine died"):
            backend.submit(GenerationRequest("p")).result(10)
    finally:
        backend.close()


def test_many_concurrent_requests_all_complete(serve: Callable[..., FakeServer]) -> None:
    server = serve(lambda path, body: Reply(events=[chunk(0, body["prompt"], finish="stop")], pause_s=0.01))
    backend = backend_for(server.url, engine="vllm", max_concurrency=8)
    try:
        futures = [backend.submit(GenerationRequest(f"p{i}")) for i in range(20)]
        texts = [f.result(20).completions[0].text for f in futures]
    finally:
        backend.close()
    assert texts == [f"p{i}" for i in range(20)]
    status = backend.status()
    assert status.requests == 20 and status.tokens_per_s > 0 and status.p95_ms is not None


def test_project_grammar_is_sent_for_the_entry_rule(serve: Callable[..., FakeServer]) -> None:
    from elixir_coder_lsp.inference import constraints

    server = serve(lambda path, body: Reply(events=[chunk(0, "x", finish="stop")]))
    backend = OpenAIBackend("remote", ModelSettings(checkpoint="tiny", backend="openai", url=server.url), engine="vllm")
    try:
        backend.submit(GenerationRequest("p", constrained=True, entry_rule="expr_seq")).result(10)
        with pytest.raises(GenerationError, match="cannot build the grammar for entry rule 'nope'"):
            backend.submit(GenerationRequest("p", constrained=True, entry_rule="nope")).result(10)  # type: ignore[arg-type]
    finally:
        backend.close()
    assert server.requests[0][2]["structured_outputs"] == {"grammar": constraints.grammar_text("expr_seq")}
    assert len(server.requests) == 1


def test_a_request_that_continues_a_prefix_gets_no_server_grammar(serve: Callable[..., FakeServer]) -> None:
    # a server's grammar starts at the beginning of the output, so it cannot continue after the text
    # before the cursor (inline completion): such a request goes free and is checked afterwards
    server = serve(lambda path, body: Reply(events=[chunk(0, "x", finish="stop")]))
    backend = OpenAIBackend("remote", ModelSettings(checkpoint="tiny", backend="openai", url=server.url), engine="vllm")
    try:
        backend.submit(GenerationRequest("p", constrained=True, entry_rule="expr_seq", grammar_prefix="  x = ")).result(10)
    finally:
        backend.close()
    assert "structured_outputs" not in server.requests[0][2]


def test_cancel_while_queued_and_close_cancels_in_flight(serve: Callable[..., FakeServer]) -> None:
    server = serve(lambda path, body: Reply(events=[chunk(0, "x")] * 100, pause_s=0.02))
    backend = backend_for(server.url, engine="vllm", max_concurrency=1)
    running = backend.submit(GenerationRequest("a", id="a"))
    queued = backend.submit(GenerationRequest("b", id="b"))
    assert backend.cancel("b")
    with pytest.raises(GenerationError) as info:
        queued.result(10)
    assert info.value.kind == "cancelled"
    backend.close()
    with pytest.raises(GenerationError) as info:
        running.result(10)
    assert info.value.kind == "cancelled"
    assert len(server.requests) <= 1  # the queued request never reached the server
    with pytest.raises(GenerationError, match="closed"):
        backend.submit(GenerationRequest("c")).result(1)
    assert backend.status().state == "stopped"


def test_a_failed_server_matcher_is_spotted_and_its_samples_are_redone_without_the_grammar(serve: Callable[..., FakeServer]) -> None:
    # What vLLM sends after its llguidance matcher failed (the item limit): it masks to EOS, so a
    # constrained "program" ends after one token with finish_reason stop. The client spots it, redoes
    # those samples without the grammar (the loop parses and checks every candidate) and from then on
    # sends this instance's constrained requests without it; the status says why.
    grammar = 'start: "defmodule A do" NL "end"\nNL: "\\n"\n'
    constrained = [chunk(0, "defmodule", ids=[5], lp=[-0.5]), chunk(0, "", ids=[2], lp=[-0.1], finish="stop"),
                   chunk(1, "defmodule A do\nend", ids=[5, 6, 7], lp=[-0.5]), chunk(1, "", ids=[2], lp=[-0.1], finish="stop")]
    free = [chunk(0, "defmodule B do\nend", ids=[5, 8, 7], lp=[-0.7]), chunk(0, "", ids=[2], lp=[-0.1], finish="stop")]
    server = serve(lambda path, body: Reply(events=constrained if "structured_outputs" in body else free))
    backend = backend_for(server.url, engine="vllm", grammar_text=lambda rule, extra: grammar)
    events: list[StreamEvent] = []
    try:
        first = backend.submit(GenerationRequest("p", SamplingParams(n=2, seed=3), constrained=True), events.append).result(10)
        status = backend.status()
        second = backend.submit(GenerationRequest("q", SamplingParams(n=1), constrained=True)).result(10)
    finally:
        backend.close()
    redone, whole = first.completions
    assert (redone.text, redone.finish_reason) == ("defmodule B do\nend", "stop")
    assert (whole.text, whole.finish_reason) == ("defmodule A do\nend", "stop")
    assert first.error is None and second.error is None
    bodies = [body for _, _, body in server.requests]
    assert "structured_outputs" in bodies[0] and bodies[0]["n"] == 2
    assert "structured_outputs" not in bodies[1] and bodies[1]["n"] == 1 and bodies[1]["seed"] == 3  # only the broken sample
    assert "structured_outputs" not in bodies[2]
    assert "grammar engine failed" in status.message and "sample 0 ended after 1 token(s)" in status.message
    assert [e.index for e in events if e.kind == "token" and e.text == "defmodule B do\nend"] == [0]
