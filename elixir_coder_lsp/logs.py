"""Logging set-up shared by the server and the CLI: `[log]` settings, overridden by explicit flags.

docs/protocol.md, "Settings": `log.level` and `log.file` apply to the server and every subcommand;
the server's `--log-level`/`--log-file` and the CLI's `--log-level` win when given.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CLI_FORMAT = "%(levelname)s %(name)s: %(message)s"

class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time of each record (it may be replaced, e.g. under a test runner)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> Any:  # type: ignore[override]
        """The current sys.stderr."""
        return sys.stderr


_lock = threading.Lock()
_handler: logging.Handler | None = None
_current: tuple[str, str] | None = None


def configure(level: str, file: str = "", *, fmt: str = FORMAT) -> str | None:
    """Point the root logger at ``file`` (stderr when empty) with ``level``; returns an error message or None.

    Calling it again with other values replaces the handler it installed before; the same values are a no-op.
    """
    global _handler, _current
    level = (level or "info").upper()
    error = None
    with _lock:
        if _current == (level, file) and _handler is not None:
            return None
        handler: logging.Handler
        try:
            handler = logging.FileHandler(file, encoding="utf-8") if file else StderrHandler()
        except OSError as exc:
            error = f"log.file {file!r} cannot be opened ({exc.strerror or exc}); logging to stderr"
            handler = StderrHandler()
        handler.setFormatter(logging.Formatter(fmt))
        root = logging.getLogger()
        if _handler is not None:
            root.removeHandler(_handler)
            _handler.close()
        root.addHandler(handler)
        root.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")
        _handler, _current = handler, (level, file)
        # pygls logs every message at INFO; keep that for debug only.
        logging.getLogger("pygls").setLevel(logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING)
    if error:
        logging.getLogger(__name__).warning("%s", error)
    return error
