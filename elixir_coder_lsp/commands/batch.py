"""`elixir-coder batch FILE.jsonl`: many prompts at once through the batching worker, one JSON result per line, in order.

Input (docs/protocol.md, `batch`): one item per line, either a JSON object `{"prompt": "...", "answer"?: "..."}`
or a JSON string; a line that is not JSON is taken as the prompt itself. Blank lines are skipped.
`-` reads the items from stdin.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from elixir_coder_lsp.commands.common import Progress, cli_settings, make_coder
from elixir_coder_lsp.commands.generate import EXIT_NOT_CLEAN, EXIT_OK, EXIT_QUESTION, EXIT_USAGE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """FILE.jsonl (or -), --no-clarify, --instance, --entry-rule."""
    parser.add_argument("file", metavar="FILE.jsonl", help="one prompt per line: {\"prompt\", \"answer\"?} or a string; - for stdin")
    parser.add_argument("--no-clarify", action="store_true", dest="no_clarify", help="never ask: generate every prompt as it is")
    parser.add_argument("--instance", help="named model instance (default: routing decides)")
    parser.add_argument(
        "--entry-rule", choices=("start", "module_body", "expr_seq"), default="start", help="what to generate: a file, module items or a function body"
    )


def parse_line(line: str) -> dict[str, Any] | str:
    """One input line as `{"prompt", "answer"?}`, or an error message (str) for a line that cannot be one."""
    text = line.strip()
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {"prompt": text}  # a plain line is the prompt itself
    if isinstance(value, str):
        return {"prompt": value}
    if isinstance(value, dict) and isinstance(value.get("prompt"), str):
        answer = value.get("answer")
        if answer is not None and not isinstance(answer, str):
            return "\"answer\" must be a string"
        return {"prompt": value["prompt"], **({"answer": answer} if answer is not None else {})}
    return "expected {\"prompt\": \"...\", \"answer\"?: \"...\"} or a string"


def read_items(path: str) -> tuple[list[tuple[int, dict[str, Any] | str]], str | None]:
    """(line number, item or error) for every non-blank line, or an error when the file cannot be read."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], f"cannot read {path}: {exc}"
    return [(n, parse_line(line)) for n, line in enumerate(text.splitlines(), 1) if line.strip()], None


def run(args: argparse.Namespace) -> int:
    """Print one `generate` JSON document per input line; exit 2 on unreadable input or no usable model,
    3 when some prompt needs an answer, 1 when some result is not clean or failed, else 0."""
    from elixir_coder_lsp.inference.outcome import GenerationOutcome

    items, error = read_items(args.file)
    if error:
        print(f"elixir-coder batch: {error}", file=sys.stderr)
        return EXIT_USAGE
    settings, root = cli_settings(args)
    good = [item for _, item in items if isinstance(item, dict)]
    coder = make_coder(settings, root)
    progress = Progress(len(good), "batch")
    try:
        outcomes = iter(
            coder.generate_batch(
                good,
                clarify=not args.no_clarify,
                on_result=lambda _i, _o: progress.advance(),
                on_event=progress.on_event(),
                entry_rule=args.entry_rule,
                instance=args.instance,
            )
        )
    finally:
        progress.close()
        coder.close()
    statuses = []
    for n, item in items:
        if isinstance(item, dict):
            outcome = next(outcomes)
        else:
            print(f"elixir-coder batch: line {n}: {item}", file=sys.stderr)
            outcome = GenerationOutcome("failed", attempts=0, message=f"line {n}: {item}", error_kind="error")
        statuses.append((outcome.status, outcome.error_kind))
        print(json.dumps(outcome.to_json(), ensure_ascii=False), flush=True)
    if good and all(s == ("failed", "unavailable") for s in statuses):
        return EXIT_USAGE
    if any(s == "clarification_needed" for s, _ in statuses):
        return EXIT_QUESTION
    return EXIT_OK if all(s == "generated" for s, _ in statuses) else EXIT_NOT_CLEAN
