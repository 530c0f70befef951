"""`elixir-coder clarify --samples FILE.json`: cluster candidate programs and decide whether to ask (docs/protocol.md)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

MAX_INPUT_BYTES = 64_000_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--samples FILE.json (or - for stdin) and optional threshold overrides."""
    parser.add_argument("--samples", required=True, metavar="FILE.json", help='{"prompt", "samples": [{"code", "logprob"?}]}; - reads stdin')
    parser.add_argument("--entropy-threshold", type=float, default=None, help="override clarification.entropyThreshold")
    parser.add_argument("--cluster-threshold", type=int, default=None, help="override clarification.clusterThreshold")


class InputError(ValueError):
    """The samples file is not usable; the message says why."""


def load_samples(text: str) -> tuple[str, list[Any]]:
    """(prompt, samples) from the input document; InputError for anything malformed."""
    from elixir_coder_lsp.inference.clarification import Sample

    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    if not isinstance(doc, dict):
        raise InputError('expected an object {"prompt": ..., "samples": [...]}')
    prompt = doc.get("prompt", "")
    if not isinstance(prompt, str):
        raise InputError('"prompt" must be a string')
    raw = doc.get("samples")
    if not isinstance(raw, list):
        raise InputError('"samples" must be a list of {"code", "logprob"?} objects')
    if not raw:
        raise InputError("no samples")
    samples = []
    for i, item in enumerate(raw):
        if isinstance(item, str):
            item = {"code": item}
        if not isinstance(item, dict) or not isinstance(item.get("code"), str):
            raise InputError(f'sample {i} needs a "code" string')
        logprob = item.get("logprob")
        if logprob is not None and (isinstance(logprob, bool) or not isinstance(logprob, (int, float))):
            raise InputError(f'sample {i}: "logprob" must be a number')
        closed = item.get("closed_tokens", 0)
        if isinstance(closed, bool) or not isinstance(closed, int) or closed < 0:
            raise InputError(f'sample {i}: "closed_tokens" must be a non-negative integer')
        finish = item.get("finish_reason", "stop")
        if finish not in ("stop", "length", "grammar", "cancelled", "error"):
            raise InputError(f'sample {i}: unknown "finish_reason" {finish!r}')
        samples.append(
            Sample(
                code=item["code"],
                logprob=None if logprob is None else float(logprob),
                mean_logprob=None if item.get("mean_logprob") is None else float(item["mean_logprob"]),
                finish_reason=finish,
                closed_tokens=closed,
            )
        )
    return prompt, samples


def run(args: argparse.Namespace) -> int:
    """Print the clarification JSON; exit 0 (decided, ask or proceed) or 2 (bad input or no Elixir)."""
    from elixir_coder_lsp.commands.common import cli_settings, make_coder
    from elixir_coder_lsp.elixir.client import HelperError, default_helper

    try:
        if args.samples == "-":
            text = sys.stdin.read(MAX_INPUT_BYTES + 1)
        else:
            path = Path(args.samples)
            if path.stat().st_size > MAX_INPUT_BYTES:
                raise InputError(f"the file is larger than {MAX_INPUT_BYTES} bytes")
            text = path.read_text(encoding="utf-8")
        if len(text) > MAX_INPUT_BYTES:
            raise InputError(f"the input is larger than {MAX_INPUT_BYTES} bytes")
        prompt, samples = load_samples(text)
    except (OSError, UnicodeDecodeError, InputError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"elixir-coder clarify: {args.samples}: {detail}", file=sys.stderr)
        return 2

    settings, root = cli_settings(args)
    coder = make_coder(settings, root, helper=default_helper())
    try:
        report = coder.clarify_samples(
            prompt, samples, entropy_threshold=args.entropy_threshold, cluster_threshold=args.cluster_threshold
        )
    except HelperError as exc:
        print(f"elixir-coder clarify: the Elixir helper is unavailable: {exc}", file=sys.stderr)
        return 2
    finally:
        coder.close()
    print(json.dumps(report, ensure_ascii=False, indent=None if args.json else 2))
    return 0
