"""`elixir-coder generate [PROMPT|-]`: generate Elixir code from a request, asking first when the samples disagree.

docs/protocol.md, "CLI": a clarifying question is asked on the terminal when stdin is one, answered by
`--answer`, or (neither possible) ends the run with exit 3 and the question in the JSON document.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from elixir_coder_lsp.commands.common import Progress, cli_settings, make_coder

EXIT_OK, EXIT_NOT_CLEAN, EXIT_USAGE, EXIT_QUESTION = 0, 1, 2, 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """PROMPT (or - for stdin), --answer, --no-clarify, --instance, --entry-rule."""
    parser.add_argument("prompt", nargs="?", default="-", help="the request; - reads it from stdin")
    parser.add_argument(
        "--answer", action="append", default=[], metavar="TEXT",
        help="the answer to a clarifying question (an option's label or free text); repeat for later questions",
    )
    parser.add_argument("--no-clarify", action="store_true", dest="no_clarify", help="never ask a clarifying question")
    parser.add_argument("--instance", help="named model instance (default: routing decides)")
    parser.add_argument(
        "--entry-rule", choices=("start", "module_body", "expr_seq"), default="start", help="what to generate: a file, module items or a function body"
    )


def exit_code(outcome: Any) -> int:
    """docs/protocol.md exit codes: 0 generated, 1 not clean or failed, 2 no usable model, 3 a question needs an answer."""
    if outcome.status == "clarification_needed":
        return EXIT_QUESTION
    if outcome.status == "failed" and outcome.error_kind == "unavailable":
        return EXIT_USAGE
    return EXIT_OK if outcome.status == "generated" else EXIT_NOT_CLEAN


def read_line(prompt: str) -> str:
    """One line from stdin with the prompt on stderr (stdout may be the generated file); EOFError at the end."""
    print(prompt, end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line


def terminal_answer(question: dict[str, Any], read: Callable[[str], str] = read_line) -> str | None:
    """Ask on the terminal: a number picks an option, other text is a free answer, an empty line just generates.

    None when the input ends (Ctrl-D), which leaves the question unanswered.
    """
    print(f"\n{question['question']}", file=sys.stderr)
    options = question.get("options", [])
    for i, option in enumerate(options, 1):
        detail = f"  ({option['description']})" if option.get("description") else ""
        print(f"  {i}. {option['label']}{detail}", file=sys.stderr)
    hint = "number, your own answer, " if question.get("allowFreeText", True) else "number or "
    try:
        reply = read(f"Answer ({hint}or Enter to just generate): ").strip()
    except EOFError:
        return None
    if reply.isdigit() and 1 <= int(reply) <= len(options):
        return str(options[int(reply) - 1]["label"])
    return reply


def answers_from(given: list[str], interactive: bool) -> Callable[[dict[str, Any]], str | None]:
    """The façade's answer_fn: the given answers in order, then the terminal when interactive, else None."""
    queue = list(given)

    def answer(question: dict[str, Any]) -> str | None:
        if queue:
            return queue.pop(0)
        return terminal_answer(question) if interactive else None

    return answer


def run(args: argparse.Namespace) -> int:
    """Exit 0 when clean code was generated, 1 when not clean or failed, 2 on configuration errors, 3 when a question needs an answer."""
    from elixir_coder_lsp.inference.types import StreamEvent

    from_stdin = args.prompt == "-"
    prompt = sys.stdin.read() if from_stdin else args.prompt
    if not prompt.strip():
        print("elixir-coder generate: empty request", file=sys.stderr)
        return EXIT_USAGE
    settings, root = cli_settings(args)
    interactive = not from_stdin and sys.stdin.isatty()
    # Stream the first sample's tokens only when no question can come in between.
    clarifying = settings.clarification.enabled and not args.no_clarify
    stream = sys.stdout.isatty() and not args.json and not clarifying
    progress = Progress(description="generate")
    show_phase = progress.on_event()

    def on_event(event: StreamEvent) -> None:
        # Tokens of the first sample as they arrive; the checked, formatted result follows.
        if stream and event.kind == "token" and event.index == 0:
            sys.stdout.write(event.text)
            sys.stdout.flush()
        else:
            show_phase(event)

    coder = make_coder(settings, root)
    try:
        # The loop checks, autofixes and repairs; its outcome is the whole answer (never an exception).
        outcome = coder.generate_with_clarification(
            prompt,
            answers_from(args.answer, interactive),
            entry_rule=args.entry_rule,
            instance=args.instance,
            on_event=on_event,
            clarify=not args.no_clarify,
        )
    finally:
        progress.close()
        coder.close()
    if outcome.status == "failed":
        print(f"elixir-coder generate: {outcome.message}", file=sys.stderr)
    if args.json or outcome.status == "clarification_needed":
        # exit 3 always carries the question as JSON (docs/protocol.md)
        if outcome.status == "clarification_needed" and not args.json:
            print(f"elixir-coder generate: {outcome.message} Rerun with --answer TEXT or --no-clarify.", file=sys.stderr)
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
    return exit_code(outcome)
