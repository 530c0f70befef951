"""Throw random and mutated LSP messages at the real server over stdio; count deaths and unanswered requests.

Each message starts from a well-formed request or notification of a method the server handles (or
one it does not), and most are then mutated: keys dropped, values replaced by JSON of another type,
ids of odd types, params of the wrong shape, the `jsonrpc` member changed; a few frames are not JSON
at all. A request whose id is a JSON-RPC id must get an answer with that id (a result or an error).
`shutdown`, `exit`, `initialize` and the commands that start a model are never sent.

    python bench/fuzz.py [--count 100000] [--seed 1] [--time-limit 1800] [--json out.json]

tests/e2e/test_fuzz.py runs 10,000 messages of the same generator.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rawlsp import RawServer, frame, write_report  # noqa: E402

URIS = [f"file:///tmp/fuzz/doc{i}.ex" for i in range(6)] + ["file:///tmp/fuzz/never-opened.ex", "untitled:Untitled-1", "not a uri", ""]
TEXTS = [
    "defmodule A do\n  def f(x), do: x + 1\nend\n",
    "defmodule A do\n  def f(x) do\n    g(x\n  end\nend\n",
    'defmodule B do\n  def run(cmd), do: System.cmd(cmd, [])\n  def atom(s), do: String.to_atom(s)\n  def d(x), do: IO.inspect(x)\nend\n',
    "[" * 700,
    "é日本😀\u2028\ufeff",
    "\x00\x01\x02binary\xff",
    "",
    "# TODO: return the mean of a list\n",
    "x = " + "1 + " * 2000 + "1\n",
]
REQUESTS = [
    "textDocument/hover",
    "textDocument/codeAction",
    "codeAction/resolve",
    "workspace/executeCommand",
    "textDocument/completion",
    "textDocument/documentSymbol",
    "textDocument/definition",
    "textDocument/inlineCompletion",
    "elixirCoder/ask",
    "$/unknownRequest",
    "nonsense",
]
NOTIFICATIONS = [
    "textDocument/didOpen",
    "textDocument/didChange",
    "textDocument/didClose",
    "textDocument/didSave",
    "$/cancelRequest",
    "$/setTrace",
    "workspace/didChangeConfiguration",
    "window/workDoneProgress/cancel",
    "$/unknownNotification",
]
COMMANDS = ["elixirCoder.explain", "elixirCoder.cancel", "elixirCoder.unknown", "", "editor.action.x"]
SAFE_INIT = {
    "checks": {"onChangeDebounceMs": 20},
    "explanations": {"useModel": False},
    # never started: no generation command is sent; a path that does not exist keeps it that way
    "models": {"default": {"checkpoint": "/nonexistent/fuzz-model"}},
}


class Fuzzer:
    """Seeded generator of messages (dicts) and raw frames (bytes)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.next_id = 0
        self.versions: dict[str, int] = {}

    # -- building blocks --------------------------------------------------------------------------

    def position(self) -> dict[str, Any]:
        r = self.rng
        pick = r.random()
        if pick < 0.7:
            return {"line": r.randint(0, 12), "character": r.randint(0, 40)}
        if pick < 0.9:
            return {"line": r.choice([0, 2**31 - 1, 10**6]), "character": r.choice([0, 2**31 - 1, 10**6])}
        return {"line": r.randint(-5, -1), "character": r.randint(-5, 5)}

    def range_(self) -> dict[str, Any]:
        a, b = self.position(), self.position()
        return {"start": a, "end": b}

    def uri(self) -> str:
        return self.rng.choice(URIS)

    def diagnostic(self) -> dict[str, Any]:
        r = self.rng
        d: dict[str, Any] = {"range": self.range_(), "message": r.choice(["x", "boom", ""])}
        if r.random() < 0.7:
            d["code"] = r.choice(["Credo.Check.Warning.IoInspect", "Elixir.SyntaxError", "Sobelow.RCE.CodeModule", "Nope", 5])
            d["source"] = r.choice(["elixir-coder", "elixir", "credo", "other"])
        if r.random() < 0.6:
            d["data"] = r.choice(
                [
                    {"rule": "Credo.Check.Warning.IoInspect", "line": 1, "column": 1, "message": "m", "severity": "warning", "source": "elixir-coder"},
                    {"rule": "Sobelow.RCE.CodeModule"},
                    self.json_value(2),
                ]
            )
        return d

    def json_value(self, depth: int = 3) -> Any:
        r = self.rng
        kind = r.randrange(11 if depth > 0 else 8)
        if kind == 0:
            return None
        if kind == 1:
            return r.choice([True, False])
        if kind == 2:
            return r.choice([0, -1, 1, 2**31, 2**53 + 1, -(2**63), 10**30])
        if kind == 3:
            return r.choice([0.5, -1e308, 1e-300, 3.0])
        if kind == 4:
            return r.choice(["", "a", "file:///tmp/fuzz/doc0.ex", "\u0000", "😀" * 3, "\ud800"])
        if kind == 5:
            return "x" * r.choice([100, 10_000])
        if kind == 6:
            return {}
        if kind == 7:
            return []
        if kind == 8:
            return [self.json_value(depth - 1) for _ in range(r.randint(1, 3))]
        if kind == 9:
            return {r.choice(["uri", "line", "range", "textDocument", "k"]): self.json_value(depth - 1) for _ in range(r.randint(1, 3))}
        nest: Any = 0
        for _ in range(r.choice([10, 200, 500])):
            nest = [nest]
        return nest

    # -- well-formed messages ---------------------------------------------------------------------

    def params_for(self, method: str) -> Any:
        r = self.rng
        uri = self.uri()
        doc = {"uri": uri}
        if method in ("textDocument/hover", "textDocument/definition", "textDocument/completion"):
            return {"textDocument": doc, "position": self.position()}
        if method == "textDocument/inlineCompletion":
            return {"textDocument": doc, "position": self.position(), "context": {"triggerKind": r.choice([1, 2])}}
        if method == "textDocument/codeAction":
            return {"textDocument": doc, "range": self.range_(), "context": {"diagnostics": [self.diagnostic() for _ in range(r.randint(0, 3))]}}
        if method == "codeAction/resolve":
            return {"title": "t", "kind": r.choice(["quickfix", "refactor.rewrite"]), "data": self.json_value(2)}
        if method == "workspace/executeCommand":
            cmd = r.choice(COMMANDS)
            args = r.choice([[{"uri": uri, "diagnostic": self.diagnostic()}], [{"jobId": r.choice(["1", "x", 3])}], [], [self.json_value(2)], None])
            return {"command": cmd, "arguments": args}
        if method == "textDocument/documentSymbol":
            return {"textDocument": doc}
        if method == "textDocument/didOpen":
            self.versions[uri] = 1
            return {"textDocument": {"uri": uri, "languageId": r.choice(["elixir", "eex", "plaintext"]), "version": 1, "text": r.choice(TEXTS)}}
        if method == "textDocument/didChange":
            self.versions[uri] = self.versions.get(uri, 1) + 1
            change = {"text": r.choice(TEXTS)} if r.random() < 0.4 else {"range": self.range_(), "text": r.choice(["", "x", "\n", "end\n", "(["])}
            return {"textDocument": {"uri": uri, "version": self.versions[uri]}, "contentChanges": [change]}
        if method in ("textDocument/didClose", "textDocument/didSave"):
            return {"textDocument": doc}
        if method == "$/cancelRequest":
            return {"id": r.choice([self.next_id, self.next_id - 1, "x", 10**9])}
        if method == "$/setTrace":
            return {"value": r.choice(["off", "messages", "verbose", "loud"])}
        if method == "workspace/didChangeConfiguration":
            return {"settings": r.choice([None, {}, {"elixirCoder": {"checks": {"onChangeDebounceMs": r.randint(0, 50)}}}, {"elixirCoder": {"limits": {"maxNesting": r.randint(1, 900)}}}, self.json_value(2)])}
        if method == "window/workDoneProgress/cancel":
            return {"token": r.choice(["elixir-coder/1", 5, "nope"])}
        return self.json_value(2)

    def message(self) -> dict[str, Any]:
        r = self.rng
        if r.random() < 0.5:
            method = r.choice(REQUESTS)
            self.next_id += 1
            return {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": self.params_for(method)}
        method = r.choice(NOTIFICATIONS)
        return {"jsonrpc": "2.0", "method": method, "params": self.params_for(method)}

    # -- mutations --------------------------------------------------------------------------------

    def mutate(self, msg: dict[str, Any]) -> dict[str, Any]:
        r = self.rng
        for _ in range(r.randint(1, 3)):
            op = r.randrange(8)
            if op == 0:
                self._replace_somewhere(msg, drop=True)
            elif op in (1, 2):
                self._replace_somewhere(msg, drop=False)
            elif op == 3 and "id" in msg:
                self.next_id += 1
                msg["id"] = r.choice([f"s-{self.next_id}", -self.next_id, 2**40 + self.next_id, 1.5, None, [1], {"a": 1}, True])
            elif op == 4:
                msg["params"] = self.json_value(2)
            elif op == 5:
                msg["jsonrpc"] = r.choice(["1.0", 2, None])
            elif op == 6:
                if r.random() < 0.5:
                    msg.pop("jsonrpc", None)
                else:
                    msg["method"] = r.choice(REQUESTS + NOTIFICATIONS + [5, None, ""])
            else:
                msg["extra"] = self.json_value(1)
        return msg

    def _replace_somewhere(self, node: Any, *, drop: bool) -> None:
        r = self.rng
        for _ in range(6):  # walk down a random path
            if isinstance(node, dict) and node:
                key = r.choice(list(node))
                child = node[key]
                if not isinstance(child, (dict, list)) or not child or r.random() < 0.3:
                    if drop and key != "method":
                        del node[key]
                    else:
                        node[key] = self.json_value(2)
                    return
                node = child
            elif isinstance(node, list) and node:
                i = r.randrange(len(node))
                child = node[i]
                if not isinstance(child, (dict, list)) or not child or r.random() < 0.3:
                    node[i] = self.json_value(2)
                    return
                node = child
            else:
                return

    def raw_garbage(self) -> bytes:
        r = self.rng
        return r.choice(
            [
                frame(b"{not json"),
                frame(b'{"jsonrpc": "2.0", "id": 1, "method": "textDocument/hover", "params": {'),
                frame(bytes(r.randrange(256) for _ in range(r.randint(1, 64)))),
                frame(b"[]"),
                frame(b"123"),
                frame(b'"str"'),
                frame(b"null"),
                frame(b"[" * 5000 + b"]" * 5000),
                b"X-Junk: yes\r\n",
                b"\r\n",
            ]
        )

    def next(self) -> tuple[bytes, Any]:
        """One frame to send, and the id an answer must carry (None when none is owed)."""
        r = self.rng
        if r.random() < 0.04:
            return self.raw_garbage(), None
        msg = self.message()
        if r.random() < 0.6:
            msg = self.mutate(msg)
        try:
            body = json.dumps(msg).encode("utf-8", "surrogatepass")
        except RecursionError:  # mutations nested a deep value inside another: send a deep frame instead
            return frame(b"[" * 3000 + b"]" * 3000), None
        return frame(body), owed_id(msg)


def owed_id(msg: Any) -> Any:
    """The id a request must be answered under, or None (a notification, a response, an id of a bad type)."""
    if not isinstance(msg, dict) or "method" not in msg or "id" not in msg:
        return None
    msg_id = msg["id"]
    if isinstance(msg_id, bool) or not isinstance(msg_id, (int, str)):
        return None
    return msg_id


def run_fuzz(count: int, *, seed: int = 1, time_limit: float = 600.0, answer_timeout: float = 120.0, stderr_path: str | None = None) -> dict[str, Any]:
    """Send ``count`` fuzz frames to a fresh server; report deaths, unanswered requests and timings."""
    fuzz = Fuzzer(seed)
    server = RawServer(stderr_path=stderr_path)
    started = time.monotonic()
    report: dict[str, Any] = {"seed": seed, "sent": 0, "requests_owed": 0, "deaths": 0}
    try:
        if server.initialize(SAFE_INIT) is None:
            report["deaths"] = 0 if server.alive() else 1
            report["error"] = "initialize got no answer"
            return report
        owed: list[Any] = []
        peak_rss = 0
        for i in range(count):
            data, msg_id = fuzz.next()
            if not server.send_bytes(data):
                break
            report["sent"] += 1
            if msg_id is not None:
                owed.append(msg_id)
            if i % 500 == 0:
                peak_rss = max(peak_rss, server.rss_kb())
                if not server.alive() or time.monotonic() - started > time_limit:
                    break
        report["send_s"] = round(time.monotonic() - started, 2)
        report["requests_owed"] = len(owed)
        deadline = time.monotonic() + answer_timeout
        missing = [m for m in owed if m not in server.responses]
        while missing and time.monotonic() < deadline and server.alive():
            time.sleep(0.2)
            missing = [m for m in missing if m not in server.responses]
        report["unanswered"] = len(missing)
        report["unanswered_sample"] = [repr(m) for m in missing[:10]]
        answers = [server.responses[m] for m in owed if m in server.responses]
        codes: dict[str, int] = {}
        for a in answers:
            key = "result" if "result" in a else str(a.get("error", {}).get("code"))
            codes[key] = codes.get(key, 0) + 1
        report["answers_by_code"] = dict(sorted(codes.items()))
        report["null_id_errors"] = len(server.null_id_errors)
        report["bad_id_responses"] = len(server.bad_id_responses)
        report["unreadable_server_frames"] = server.unreadable_frames
        report["client_reader_error"] = repr(server.reader_error) if server.reader_error else None
        # still serving: an ordinary request gets an ordinary answer
        final = server.request("textDocument/hover", {"textDocument": {"uri": URIS[0]}, "position": {"line": 0, "character": 0}}, timeout=60)
        report["final_request_ok"] = bool(final and "result" in final)
        report["peak_rss_kb"] = max(peak_rss, server.rss_kb())
        report["deaths"] = 0 if server.alive() else 1
        report["total_s"] = round(time.monotonic() - started, 2)
    finally:
        code = server.close()
        report["exit_code"] = code
    return report


def main() -> int:
    """CLI: the long run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=1800.0)
    parser.add_argument("--json", help="where to write the report (default bench/results/fuzz.json)")
    parser.add_argument("--stderr", help="the server's log file")
    args = parser.parse_args()
    report = run_fuzz(args.count, seed=args.seed, time_limit=args.time_limit, stderr_path=args.stderr)
    write_report(report, "fuzz", args.json)
    ok = report["deaths"] == 0 and report.get("unanswered", 1) == 0 and report.get("final_request_ok") and not report.get("bad_id_responses")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
