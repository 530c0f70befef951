"""Load: concurrent generation jobs on distinct documents plus a didChange storm, through the real server.

Builds the tiny random model (no downloads), starts the server over stdio (loopback pipes only; the
server opens no socket), opens ``--jobs`` documents with a `# TODO:` comment and ``--storm-docs``
others, then at once starts one "Generate code" job per document while a storm of full-text
`didChange` edits (``--rate`` per second, valid and broken code in turn) hits the other documents.
Reports how every job ended (done / nothing to change / failed / cancelled), how many applied an edit,
command → end latencies, peak RSS per process (server, Elixir helper, model worker), whether the
diagnostics of each storm document end at its last edit's version, and the server's RSS after a rest.

    python bench/load.py [--jobs 64] [--rate 100] [--storm-docs 8] [--json out.json]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rawlsp import RawServer, descendants, proc_rss_kb, write_report  # noqa: E402
from elixir_coder_lsp.inference.metrics import percentile  # noqa: E402

DOC = 'defmodule Load.M{i} do\n  @moduledoc "Module {i}."\n\n  # TODO: return the sum of a list of numbers\nend\n'
STORM_TEXTS = [
    "defmodule Storm{i} do\n  def f(x), do: x + {n}\nend\n",
    "defmodule Storm{i} do\n  def f(x) do\n    g(x, {n}\n  end\nend\n",
]


def _kind(pid: int) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return "gone"
    if "beam" in cmd or "erl_child_setup" in cmd or "elixir" in cmd.split(" ")[0]:
        return "elixir-helper"
    if "spawn_main" in cmd or "multiprocessing" in cmd:
        return "resource-tracker" if "resource_tracker" in cmd else "model-worker"
    return "other"


class RssSampler:
    """Peak RSS per process kind (server, elixir-helper, model-worker) sampled every 0.2 s."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.peak_kb: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            by_kind: dict[str, int] = {"server": proc_rss_kb(self.server_pid)}
            for pid in descendants(self.server_pid):
                kind = _kind(pid)
                by_kind[kind] = max(by_kind.get(kind, 0), proc_rss_kb(pid))
            for kind, kb in by_kind.items():
                self.peak_kb[kind] = max(self.peak_kb.get(kind, 0), kb)
            self._stop.wait(0.2)

    def stop(self) -> dict[str, float]:
        """Stop sampling; peaks in MiB."""
        self._stop.set()
        self._thread.join()
        return {k: round(v / 1024, 1) for k, v in sorted(self.peak_kb.items())}


def _percentile(values: list[float], q: float) -> float | None:
    value = percentile(values, q * 100)
    return None if value is None else round(value, 1)


def _reasons(notifications: list[dict[str, Any]]) -> dict[str, int]:
    """Error messages shown to the user, counted by their text (numbers and ids removed)."""
    import re

    counts: dict[str, int] = {}
    for n in notifications:
        if n["method"] == "window/showMessage" and n["params"].get("type") == 1:
            key = re.sub(r"\d+", "N", n["params"]["message"])[:160]
            counts[key] = counts.get(key, 0) + 1
    return counts


def run_load(
    *, jobs: int = 64, rate: float = 100.0, storm_docs: int = 8, max_new_tokens: int = 16, candidates: int = 2,
    min_storm_s: float = 5.0, time_limit: float = 600.0, model_dir: Path | None = None, warm_up: bool = True,
) -> dict[str, Any]:
    """Run one load round against a fresh server; returns the report (see the module docstring)."""
    from elixir_coder_lsp.inference.tiny_model import build_tiny_checkpoint

    model = build_tiny_checkpoint(model_dir or Path(tempfile.gettempdir()) / "elixir-coder-bench-tiny")
    server = RawServer()
    sampler = RssSampler(server.pid)
    report: dict[str, Any] = {"jobs": jobs, "storm_rate_per_s": rate, "storm_docs": storm_docs, "max_new_tokens": max_new_tokens, "candidates": candidates}
    try:
        init = {
            "checks": {"onChangeDebounceMs": 50},
            "explanations": {"useModel": False},
            "models": {"default": {"checkpoint": str(model), "maxNewTokens": max_new_tokens}},
            "generation": {"candidates": candidates, "temperature": 1.0},
        }
        assert server.initialize(init) is not None, "initialize got no answer"
        gen_uris = [f"file:///tmp/load/gen{i}.ex" for i in range(jobs)]
        storm_uris = [f"file:///tmp/load/storm{j}.ex" for j in range(storm_docs)]
        for i, uri in enumerate(gen_uris):
            server.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "elixir", "version": 1, "text": DOC.format(i=i)}})
        for j, uri in enumerate(storm_uris):
            server.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "elixir", "version": 1, "text": STORM_TEXTS[0].format(i=j, n=0)}})
        server.wait_for(lambda s: all(s.published(u) for u in gen_uris + storm_uris), timeout=120)

        if warm_up:  # load the model first, so latencies are those of a serving instance
            t0 = time.monotonic()
            warm_uri = "file:///tmp/load/warm-up.ex"
            server.notify("textDocument/didOpen", {"textDocument": {"uri": warm_uri, "languageId": "elixir", "version": 1, "text": DOC.format(i="W")}})
            resp = server.request("workspace/executeCommand", {"command": "elixirCoder.generate", "arguments": [{"uri": warm_uri, "range": {"start": {"line": 3, "character": 4}, "end": {"line": 3, "character": 4}}}]})
            token = f"elixir-coder/{resp['result']['jobId']}" if resp and isinstance(resp.get("result"), dict) else None
            server.wait_for(lambda s: any(n["method"] == "$/progress" and n["params"].get("token") == token and n["params"].get("value", {}).get("kind") == "end" for n in s.notifications), timeout=300)
            report["warm_up_job_with_model_load_ms"] = round((time.monotonic() - t0) * 1000, 1)
            time.sleep(0.5)  # its error message, if any, follows its progress end
        errors_before = len(server.notifications)

        # the storm runs in its own thread from before the first job until every job has ended
        last_version = {uri: 1 for uri in storm_uris}
        storm_stop = threading.Event()
        sent = [0]

        def storm() -> None:
            interval = 1.0 / rate
            next_at = time.monotonic()
            n = 0
            while not storm_stop.is_set():
                uri = storm_uris[n % storm_docs]
                j = n % storm_docs
                last_version[uri] += 1
                text = STORM_TEXTS[n % 2].format(i=j, n=n)
                server.notify(
                    "textDocument/didChange",
                    {"textDocument": {"uri": uri, "version": last_version[uri]}, "contentChanges": [{"text": text}]},
                )
                sent[0] += 1
                n += 1
                next_at += interval
                storm_stop.wait(max(0.0, next_at - time.monotonic()))

        storm_thread = threading.Thread(target=storm, daemon=True)
        started = time.monotonic()
        storm_thread.start()

        # every job at once
        ids: dict[int, tuple[str, float]] = {}
        for uri in gen_uris:
            msg_id = server.new_id()
            ids[msg_id] = (uri, time.monotonic())
            server.send({
                "jsonrpc": "2.0", "id": msg_id, "method": "workspace/executeCommand",
                "params": {"command": "elixirCoder.generate", "arguments": [{"uri": uri, "range": {"start": {"line": 3, "character": 4}, "end": {"line": 3, "character": 4}}}]},
            })
        answered = server.wait_for(lambda s: all(i in s.responses for i in ids), timeout=120)
        tokens: dict[str, tuple[str, float]] = {}
        command_errors = 0
        for msg_id, (uri, t0) in ids.items():
            resp = server.responses.get(msg_id)
            if resp and isinstance(resp.get("result"), dict) and "jobId" in resp["result"]:
                tokens[f"elixir-coder/{resp['result']['jobId']}"] = (uri, t0)
            else:
                command_errors += 1

        def ends(s: RawServer) -> dict[str, tuple[str, float]]:
            found: dict[str, tuple[str, float]] = {}
            for n in s.notifications:
                if n["method"] == "$/progress" and n["params"].get("token") in tokens and n["params"].get("value", {}).get("kind") == "end":
                    found.setdefault(n["params"]["token"], (n["params"]["value"].get("message", ""), n.get("_at", time.monotonic())))
            return found

        deadline = started + time_limit
        while time.monotonic() < deadline:
            with server._cond:
                found = ends(server)
            if len(found) == len(tokens) and time.monotonic() - started >= min_storm_s:
                break
            time.sleep(0.05)
        storm_stop.set()
        storm_thread.join()
        storm_s = time.monotonic() - started
        with server._cond:
            found = ends(server)
        outcomes: dict[str, int] = {}
        for message, _ in found.values():
            outcomes[message] = outcomes.get(message, 0) + 1
        latencies = [(at - tokens[t][1]) * 1000 for t, (_message, at) in found.items()]
        edited = {
            r["params"]["edit"]["documentChanges"][0]["textDocument"]["uri"]
            for r in list(server.server_requests)
            if r["method"] == "workspace/applyEdit" and r["params"]["edit"].get("documentChanges")
        }
        edits_on_storm = len(edited & set(storm_uris))

        # diagnostics are current: the last published version of each storm document is its last edit
        current = server.wait_for(
            lambda s: all((s.published(u) or [{}])[-1].get("version") == last_version[u] for u in storm_uris), timeout=60
        )
        stale = {u: ((server.published(u) or [{}])[-1].get("version"), last_version[u]) for u in storm_uris if (server.published(u) or [{}])[-1].get("version") != last_version[u]}
        time.sleep(3.0)  # rest, then see where the server's memory settles
        settled_kb = server.rss_kb()
        report.update(
            {
                "commands_answered": bool(answered),
                "command_errors": command_errors,
                "jobs_ended": len(found),
                "jobs_not_ended": len(tokens) - len(found),
                "completed": outcomes.get("done", 0) + outcomes.get("nothing to change", 0),
                "failed": outcomes.get("failed", 0),
                "cancelled": outcomes.get("cancelled", 0),
                "outcomes": outcomes,
                "jobs_that_applied_an_edit": len(edited & set(gen_uris)),
                "edits_on_storm_documents": edits_on_storm,
                "latency_ms": {"p50": _percentile(latencies, 0.5), "p95": _percentile(latencies, 0.95), "max": _percentile(latencies, 1.0)},
                "storm": {"seconds": round(storm_s, 1), "did_change_sent": sent[0], "achieved_rate_per_s": round(sent[0] / storm_s, 1)},
                "diagnostics_current": bool(current),
                "stale_documents": stale,
                "errors_shown": _reasons(server.notifications[errors_before:]),
                "server_alive": server.alive(),
                "server_rss_after_rest_mib": round(settled_kb / 1024, 1),
            }
        )
    finally:
        report["peak_rss_mib"] = sampler.stop()
        report["exit_code"] = server.close(timeout=30)
    return report


def main() -> int:
    """CLI: print the report and optionally write it as JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=64)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--storm-docs", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--candidates", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument("--no-warm-up", action="store_true", help="time the first jobs with the model load")
    parser.add_argument("--json", help="where to write the report (default bench/results/load.json)")
    args = parser.parse_args()
    report = run_load(
        jobs=args.jobs, rate=args.rate, storm_docs=args.storm_docs, max_new_tokens=args.max_new_tokens,
        candidates=args.candidates, time_limit=args.time_limit, warm_up=not args.no_warm_up,
    )
    write_report(report, "load", args.json)
    ok = report.get("jobs_not_ended") == 0 and report.get("diagnostics_current") and report.get("server_alive")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
