"""An OpenAI-compatible `/v1/completions` server that plays a model whose samples disagree on purpose.

A tiny random model's samples rarely parse, so no setting can make it ask a question. This server
stands in for a capable model behind `backend = "openai"`: the real server, backend, helper and
clustering run unchanged, and every request body (the prompt the model would see) is recorded.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FETCH_TUPLE = """defmodule Users do
  def fetch(users, id) do
    case Map.fetch(users, id) do
      {:ok, user} -> {:ok, user}
      :error -> {:error, :not_found}
    end
  end
end
"""
FETCH_RAISE = """defmodule Users do
  def fetch(users, id) do
    case Map.fetch(users, id) do
      {:ok, user} -> user
      :error -> raise KeyError, key: id
    end
  end
end
"""


def disagreeing_model(prompt: str, n: int) -> list[str]:
    """Before an answer: half the samples raise, half return tagged tuples; after one, what the answer chose.

    A prompt naming `module NAME` gets that module name, so each result shows which prompt it answers.
    """
    named = re.search(r"module (\w+)", prompt)

    def rename(code: str) -> str:
        return code.replace("defmodule Users", f"defmodule {named.group(1)}") if named else code

    if "Answer:" not in prompt:
        return [rename((FETCH_TUPLE, FETCH_RAISE)[i % 2]) for i in range(n)]
    answer = prompt.rsplit("Answer:", 1)[1].lower()
    return [rename(FETCH_RAISE if "raise" in answer else FETCH_TUPLE)] * n


class FakeModelServer:
    """A threaded HTTP server on 127.0.0.1 answering `/v1/models` and streaming `/v1/completions`."""

    def __init__(self, programs: Callable[[str, int], list[str]] = disagreeing_model) -> None:
        self.programs = programs
        self.prompts: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, content_type: str, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                body = {"object": "list", "data": [{"id": "fake-model", "owned_by": "vllm"}]}
                self._send(200, "application/json", json.dumps(body).encode())

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                prompt = str(body.get("prompt", ""))
                outer.prompts.append(prompt)
                events = []
                for i, code in enumerate(outer.programs(prompt, int(body.get("n", 1)))):
                    choice = {"index": i, "text": code, "finish_reason": "stop", "logprobs": {"token_logprobs": [-0.1] * 4}}
                    events.append(f"data: {json.dumps({'object': 'text_completion', 'choices': [choice]})}\n\n")
                events.append("data: [DONE]\n\n")
                self._send(200, "text/event-stream", "".join(events).encode())

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()
