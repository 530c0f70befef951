"""Inline completion while a simulated user types, through the real server over stdio.

A 300-line module is open; the user types lines of code into function bodies at 10 characters per
second and pauses at the end of each line (for the completion). Every keystroke is a didChange, a
`$/cancelRequest` for the previous inline request (as editors do) and a new `textDocument/inlineCompletion`.

Reported per model: latency from request to response for the requests that were answered (p50/p95);
requests sent, answered as cancelled, answered; stale answers (a completion that arrives for a version
older than the document's: must be 0); the share of answered completions with which the file parses
(`prefix + completion + suffix`, checked with Elixir; goal 100% where the file parsed before); and the
server's own counters (decodings started, taken over, cache hits, unconstrained).

    python bench/inline.py [--models tiny,trained] [--lines 6] [--cps 10] [--pause 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from lsprotocol import types

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lsp_session import Session, percentile  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

# What the user types, one line at a time, each at the start of a function body (after its head line).
TYPED = [
    "total = Enum.reduce(items, 0, fn item, acc -> acc + item.price end)",
    "count = length(items)",
    "names = Enum.map(users, & &1.name)",
    "{:ok, value} = Map.fetch(params, \"id\")",
    "result = String.trim(input) |> String.downcase()",
    "sorted = Enum.sort_by(entries, & &1.date)",
    "if count > 0, do: total / count, else: 0",
    "acc = Map.put(acc, key, value)",
]


def source_file(functions: int = 30) -> str:
    """A module of about 300 lines: a moduledoc and ``functions`` small public functions."""
    out = ["defmodule Bench.Inventory do", '  @moduledoc "Inventory helpers for the inline benchmark."', ""]
    for i in range(functions):
        out += [
            f'  @doc "Function number {i}."',
            f"  def step_{i}(items, params) do",
            f"    filtered = Enum.filter(items, fn item -> item.kind == :k{i} end)",
            "    mapped = Enum.map(filtered, &Map.get(&1, :value, 0))",
            f"    total = Enum.sum(mapped) + Map.get(params, :bias_{i}, 0)",
            "    {:ok, total}",
            "  end",
            "",
            f"  defp helper_{i}(x), do: x * {i + 1}",
            "",
        ]
    out += ["end", ""]
    return "\n".join(out)


class Typist:
    """One document being typed into, with the bookkeeping of every inline request sent for it."""

    def __init__(self, session: Session, uri: str, text: str, helper: Any) -> None:
        self.session, self.uri, self.text, self.helper = session, uri, text, helper
        self.version = 1
        self.pending: tuple[str, asyncio.Future] | None = None
        self.records: list[dict[str, Any]] = []

    def _offset(self, line: int, character: int) -> int:
        lines = self.text.split("\n")
        return sum(len(ln) + 1 for ln in lines[:line]) + character

    def type_char(self, line: int, character: int, ch: str) -> None:
        """Insert one character (didChange) at (line, character)."""
        off = self._offset(line, character)
        self.text = self.text[:off] + ch + self.text[off:]
        self.version += 1
        pos = types.Position(line=line, character=character)
        self.session.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version),
                content_changes=[types.TextDocumentContentChangePartial(range=types.Range(start=pos, end=pos), text=ch)],
            )
        )

    def request(self, line: int, character: int) -> None:
        """Cancel the previous inline request ($/cancelRequest) and send a new one for the cursor."""
        if self.pending is not None and not self.pending[1].done():
            self.session.client.protocol.notify("$/cancelRequest", types.CancelParams(id=self.pending[0]))
        msg_id = str(uuid.uuid4())
        params = types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
            text_document=types.TextDocumentIdentifier(uri=self.uri),
            position=types.Position(line=line, character=character),
        )
        record: dict[str, Any] = {
            "version": self.version,
            "sent": time.perf_counter(),
            "text": self.text,
            "offset": self._offset(line, character),
        }
        fut = self.session.client.protocol.send_request_async(types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id=msg_id)
        future = asyncio.ensure_future(fut)
        future.add_done_callback(lambda f, r=record: self._done(r, f))
        self.records.append(record)
        self.pending = (msg_id, future)

    def _done(self, record: dict[str, Any], fut: asyncio.Future) -> None:
        record["ms"] = (time.perf_counter() - record["sent"]) * 1000
        record["current_version"] = self.version
        try:
            result = fut.result()
        except Exception as exc:  # noqa: BLE001 - the server's RequestCancelled answer, or an error
            record["outcome"] = "cancelled" if "cancel" in str(exc).lower() else "error"
            record["error"] = str(exc)
            return
        items = result.items if hasattr(result, "items") else (result or [])
        record["outcome"] = "answered"
        record["completion"] = items[0].insert_text if items else ""


async def run_model(label: str, checkpoint: str, args: argparse.Namespace, helper: Any) -> dict[str, Any]:
    """Type into the file with one model and summarise."""
    session = Session()
    await session.start(
        {
            "checks": {"onChangeDebounceMs": 60_000},  # diagnostics stay out of the way of the measurement
            "models": {"default": {"checkpoint": checkpoint, "preload": True, "maxNewTokens": args.max_new_tokens}},
            "inline": {"maxNewTokens": args.max_new_tokens, "debounceMs": args.debounce_ms},
        }
    )
    uri = f"file:///bench/inline_{label}.ex"
    text = source_file()
    session.open(uri, text)
    typist = Typist(session, uri, text, helper)
    # wait for the preloaded model: inline answers empty until it is loaded
    loaded = time.perf_counter()
    while time.perf_counter() - loaded < 300:
        stats = await session.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="elixirCoder.test.inlineStats", arguments=[{}])
        )
        typist.request(6, 4)
        await asyncio.sleep(1.0)
        if typist.records[-1].get("completion") or stats.get("started", 0) > 0:
            break
    await asyncio.sleep(args.pause)
    typist.records.clear()
    before = await session.client.workspace_execute_command_async(types.ExecuteCommandParams(command="elixirCoder.test.inlineStats", arguments=[{}]))

    interval = 1.0 / args.cps
    for n in range(args.lines):
        fn = 3 + 4 * n  # a different function each time (every 10 lines, after its head)
        lines = typist.text.split("\n")
        head = next(i for i, ln in enumerate(lines) if ln.startswith(f"  def step_{fn}("))
        # a new line at the top of the body: "    " then the typed text, character by character
        typist.type_char(head, len(lines[head]), "\n")
        line, character = head + 1, 0
        for ch in "    " + TYPED[n % len(TYPED)]:
            typist.type_char(line, character, ch)
            character += 1
            typist.request(line, character)
            await asyncio.sleep(interval)
        await asyncio.sleep(args.pause)  # the user pauses: the last request is answered
    await asyncio.sleep(args.pause)
    after = await session.client.workspace_execute_command_async(types.ExecuteCommandParams(command="elixirCoder.test.inlineStats", arguments=[{}]))
    await session.stop()
    return summarise(label, typist.records, before, after, helper)


def summarise(label: str, records: list[dict[str, Any]], before: dict, after: dict, helper: Any) -> dict[str, Any]:
    """Counts, latency percentiles and the parse share of one model's run."""
    answered = [r for r in records if r.get("outcome") == "answered"]
    completions = [r for r in answered if r.get("completion")]
    stale = [r for r in completions if r["version"] != r["current_version"]]
    parsed_before = parses_after = 0
    all_parse = 0
    for r in completions:
        whole = r["text"][: r["offset"]] + r["completion"] + r["text"][r["offset"] :]
        ok_after = bool(helper.parse(whole).ok)
        all_parse += ok_after
        if helper.parse(r["text"]).ok:
            parsed_before += 1
            parses_after += ok_after
    times = [r["ms"] for r in answered]
    server = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    return {
        "model": label,
        "requests_sent": len(records),
        "cancelled": sum(1 for r in records if r.get("outcome") == "cancelled"),
        "answered": len(answered),
        "answered_with_completion": len(completions),
        "errors": sum(1 for r in records if r.get("outcome") == "error"),
        "unanswered": sum(1 for r in records if "outcome" not in r),
        "stale": len(stale),
        "p50_ms": round(statistics.median(times), 1) if times else None,
        "p95_ms": round(percentile(times, 0.95), 1) if times else None,
        "parse_share_all": round(all_parse / len(completions), 3) if completions else None,
        "parse_share_where_file_parsed": round(parses_after / parsed_before, 3) if parsed_before else None,
        "completions_where_file_parsed": parsed_before,
        "server": server,
        "examples": [r["completion"] for r in completions[:5]],
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    from elixir_coder_lsp.elixir import ElixirHelper
    from elixir_coder_lsp.inference.tiny_model import build_tiny_checkpoint

    models: list[tuple[str, str]] = []
    wanted = args.models.split(",")
    if "tiny" in wanted:
        models.append(("tiny", str(build_tiny_checkpoint(Path(tempfile.gettempdir()) / "elixir-coder-bench-tiny"))))
    if "trained" in wanted:
        from train_model import model_dir

        if (model_dir() / "config.json").is_file():
            models.append(("trained", str(model_dir())))
        else:
            print(f"no trained model at {model_dir()} (bench/train_model.py); skipped", file=sys.stderr)
    out: dict[str, Any] = {
        "benchmark": "textDocument/inlineCompletion while typing (cpu)",
        "cps": args.cps,
        "lines_typed": args.lines,
        "file_lines": source_file().count("\n"),
        "debounce_ms": args.debounce_ms,
        "max_new_tokens": args.max_new_tokens,
        "runs": [],
    }
    with ElixirHelper(timeout=30.0) as helper:
        for label, checkpoint in models:
            out["runs"].append(await run_model(label, checkpoint, args, helper))
    return out


def main(argv: list[str] | None = None) -> int:
    """Run, print the figures and write bench/results/inline.json."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="tiny,trained", help="comma-separated: tiny, trained")
    ap.add_argument("--lines", type=int, default=6, help="lines typed (each into another function)")
    ap.add_argument("--cps", type=float, default=10.0, help="characters per second")
    ap.add_argument("--pause", type=float, default=3.0, help="seconds the user pauses after each line")
    ap.add_argument("--debounce-ms", type=int, default=150)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    args = ap.parse_args(argv)
    os.environ["ELIXIR_CODER_TEST_COMMANDS"] = "1"  # the server's inline counters (elixirCoder.test.inlineStats)
    result = asyncio.run(main_async(args))
    for run in result["runs"]:
        print(
            f"{run['model']}: sent {run['requests_sent']}, cancelled {run['cancelled']}, answered {run['answered']} "
            f"({run['answered_with_completion']} with a completion), stale {run['stale']}, errors {run['errors']}; "
            f"latency p50 {run['p50_ms']} ms, p95 {run['p95_ms']} ms; parses {run['parse_share_all']} of all, "
            f"{run['parse_share_where_file_parsed']} where the file parsed before ({run['completions_where_file_parsed']}); "
            f"server {run['server']}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "inline.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
