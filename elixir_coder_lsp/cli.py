"""Command-line entry points: `elixir-coder-lsp` (the stdio server) and `elixir-coder` (subcommands)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Subcommand name -> module under elixir_coder_lsp.commands exposing add_arguments(parser) and run(args) -> int.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "batch": ("batch", "generate code for every prompt of a JSON-lines file, one JSON result per line"),
    "check": ("check", "report Credo/Sobelow-style findings for files or directories"),
    "clarify": ("clarify", "cluster samples and decide whether to ask a question"),
    "fix": ("fix", "apply deterministic autofixes"),
    "explain": ("explain", "explain the finding at FILE:LINE[:COL]"),
    "generate": ("generate", "generate Elixir code from a prompt"),
    "grammar-check": ("grammar_check", "check files against the Elixir grammar"),
    "models": ("models", "list model instances and their metrics"),
}


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="settings file (TOML; keys in docs/protocol.md)")
    parser.add_argument("--json", action="store_true", help="print exactly one JSON document")
    parser.add_argument("--log-level", default=None, help="log level (default: [log] level, else warning)")


def build_parser() -> argparse.ArgumentParser:
    """The `elixir-coder` argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(prog="elixir-coder", description="Elixir code model tools.")
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        mod = importlib.import_module(f"elixir_coder_lsp.commands.{module}")
        p = sub.add_parser(name, help=help_text, description=help_text)
        _add_common(p)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `elixir-coder` subcommand and return its exit code (0 ok, 1 findings or not clean, 2 usage/tool error, 3 a question needs an answer)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    from elixir_coder_lsp import logs

    logs.configure(args.log_level or "warning", fmt=logs.CLI_FORMAT)  # subcommands refine it from `[log]`
    try:
        return int(args._run(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `elixir-coder check . | head`
        sys.stderr.close()
        return 0


def server_main(argv: Sequence[str] | None = None) -> int:
    """Start the language server on stdio (what editors launch)."""
    parser = argparse.ArgumentParser(prog="elixir-coder-lsp", description="Elixir Coder language server (stdio).")
    parser.add_argument("--log-file", default=None, help="write logs to this file (default: log.file, else stderr)")
    parser.add_argument("--log-level", default=None, help="debug | info | warning | error (default: log.level)")
    parser.add_argument("--stdio", action="store_true", help="accepted for editor compatibility; stdio is the default")
    args = parser.parse_args(argv)
    from elixir_coder_lsp.lsp.server import run_stdio

    return run_stdio(log_file=args.log_file, log_level=args.log_level)


if __name__ == "__main__":
    sys.exit(main())
