"""What every subcommand shares: settings from the server's sources, logging, the façade, terminal progress.

docs/protocol.md, "Settings" and "CLI": the CLI reads the same sources as the server; its workspace file
(`.elixir-coder.toml`) is the nearest one at or above the checked file's directory, else at or above the
working directory.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from elixir_coder_lsp import logs
from elixir_coder_lsp.config import WORKSPACE_FILE, load_settings
from elixir_coder_lsp.settings import Settings

log = logging.getLogger(__name__)

CLI_LOG_LEVEL = "warning"  # the CLI's level when neither --log-level nor [log] says otherwise


def find_workspace_root(start: str | Path | None = None) -> Path | None:
    """The nearest directory at or above ``start`` (a file or directory; default: the working directory)
    that holds `.elixir-coder.toml`, else the nearest Mix project (`mix.exs`), else None."""
    p = Path(start if start is not None else Path.cwd()).resolve()
    dirs = [p, *p.parents] if p.is_dir() else list(p.parents)
    for d in dirs:
        if (d / WORKSPACE_FILE).is_file():
            return d
    for d in dirs:
        if (d / "mix.exs").is_file():
            return d
    return None


def cli_settings(args: argparse.Namespace, paths: Iterable[str | Path] = ()) -> tuple[Settings, Path | None]:
    """Settings for a subcommand (errors on stderr) and the workspace root they came from; sets up logging.

    The root comes from the first of ``paths``, else the working directory; `--config FILE` is read above it.
    """
    first = next(iter(paths), None)
    root = find_workspace_root(first) if first is not None else None
    if root is None:
        root = find_workspace_root()
    settings, errors = load_settings(workspace_root=root, config_file=getattr(args, "config", None))
    configure_logging(args, settings)
    log.debug("workspace root: %s", root or "none (no .elixir-coder.toml or mix.exs above)")
    for msg in errors:
        print(f"elixir-coder: {msg}", file=sys.stderr)
    return settings, root


def configure_logging(args: argparse.Namespace, settings: Settings) -> None:
    """`--log-level` wins; else `[log]` when it names a file or a level other than the default; else warnings only."""
    level = getattr(args, "log_level", None)
    if level is None:
        explicit = settings.log.file or settings.log.level != Settings().log.level
        level = settings.log.level if explicit else CLI_LOG_LEVEL
    error = logs.configure(level, settings.log.file, fmt=logs.CLI_FORMAT if not settings.log.file else logs.FORMAT)
    if error:
        print(f"elixir-coder: {error}", file=sys.stderr)


def make_coder(settings: Settings, root: Path | None, **kwargs: Any) -> Any:
    """The façade for a subcommand (the one door, docs/architecture.md)."""
    from elixir_coder_lsp.api import ElixirCoder

    return ElixirCoder(settings, workspace_root=root, **kwargs)


class Progress:
    """Model loading and long runs on a terminal (tqdm when installed, else plain lines); silent when piped."""

    def __init__(self, total: int | None = None, description: str = "", *, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.description = description
        self._bar: Any = None
        self._done = 0
        self.total = total
        if self.enabled:
            try:
                from tqdm import tqdm

                self._bar = tqdm(total=total, desc=description, file=sys.stderr, leave=False, dynamic_ncols=True)
            except ImportError:
                self._bar = None

    def phase(self, text: str) -> None:
        """Show what is happening now (e.g. `loading model`)."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=True)
        else:
            print(f"[{text}]", file=sys.stderr)

    def advance(self, n: int = 1) -> None:
        """Count finished items."""
        if not self.enabled:
            return
        self._done += n
        if self._bar is not None:
            self._bar.update(n)
        elif self.total:
            print(f"[{self.description} {self._done}/{self.total}]", file=sys.stderr)

    def close(self) -> None:
        """Remove the bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def on_event(self) -> Callable[[Any], None]:
        """A stream-event callback that shows phase changes."""

        def handle(event: Any) -> None:
            if getattr(event, "kind", "") == "phase" and getattr(event, "phase", ""):
                self.phase(event.phase)

        return handle
