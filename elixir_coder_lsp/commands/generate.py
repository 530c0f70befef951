"""`elixir-coder generate [PROMPT|-]`: generate Elixir code from a request, check it, print JSON or the code."""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """PROMPT (or - for stdin), --instance, --entry-rule."""
    parser.add_argument("prompt", nargs="?", default="-", help="the request; - reads it from stdin")
    parser.add_argument("--instance", help="named model instance (default: routing decides)")
    parser.add_argument(
        "--entry-rule", choices=("start", "module_body", "expr_seq"), default="start", help="what to generate: a file, module items or a function body"
    )


def run(args: argparse.Namespace) -> int:
    """Exit 0 when clean code was generated, 1 when it was not clean or failed, 2 on configuration errors."""
    from elixir_coder_lsp.api import ElixirCoder
    from elixir_coder_lsp.config import load_settings
    from elixir_coder_lsp.inference.types import StreamEvent

    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    if not prompt.strip():
        print("elixir-coder generate: empty request", file=sys.stderr)
        return 2
    settings, errors = load_settings(config_file=args.config)
    for msg in errors:
        print(f"elixir-coder: {msg}", file=sys.stderr)
    stream = sys.stdout.isatty() and not args.json

    def on_event(event: StreamEvent) -> None:
        # Tokens of the first sample as they arrive; the checked, formatted result follows.
        if event.kind == "token" and event.index == 0:
            sys.stdout.write(event.text)
            sys.stdout.flush()
        elif event.kind == "phase" and event.phase:
            print(f"[{event.phase}]", file=sys.stderr)

    coder = ElixirCoder(settings)
    try:
        # The loop checks, autofixes and repairs; its outcome is the whole answer (never an exception).
        outcome = coder.generate(prompt, entry_rule=args.entry_rule, instance=args.instance, on_event=on_event if stream else None)
    finally:
        coder.close()
    if outcome.status == "failed":
        print(f"elixir-coder generate: {outcome.message}", file=sys.stderr)
    if args.json:
        print(json.dumps(outcome.to_json(), ensure_ascii=False))
    else:
        if stream:
            print("\n--- checked and formatted ---", file=sys.stderr)
        if outcome.code:
            print(outcome.code, end="" if outcome.code.endswith("\n") else "\n")
        for f in outcome.findings:
            print(f"{f.line}:{f.column}: {f.severity}: {f.message} [{f.rule}]", file=sys.stderr)
        if outcome.message and outcome.status != "failed":
            print(outcome.message, file=sys.stderr)
    if outcome.status == "failed" and outcome.error_kind == "unavailable":
        return 2
    return 0 if outcome.status == "generated" else 1
