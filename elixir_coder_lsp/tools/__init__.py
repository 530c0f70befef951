"""Adapters for the real Credo and Sobelow: detection (project.py), runners and JSON parsers.

Errors here are values for the caller to report: every failure of an outside tool becomes a
:class:`ToolError` with a message a user can act on, never a traceback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class ToolError(Exception):
    """Credo or Sobelow could not run, or printed something we cannot read."""


class NothingScanned(ToolError):
    """The tool ran (or would run) but had no source files to look at."""


@dataclass(frozen=True)
class ToolOutput:
    """What one finished tool process printed."""

    returncode: int
    stdout: str
    stderr: str


def tail(text: str, limit: int = 600) -> str:
    """The last ``limit`` characters of a tool's output, for error messages."""
    text = text.strip()
    return text if len(text) <= limit else "…" + text[-limit:]


def run_tool(
    command: Sequence[str],
    *,
    cwd: str | os.PathLike[str],
    input_text: str | None = None,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> ToolOutput:
    """Run a command to completion; on timeout kill its whole process group and raise ToolError."""
    name = Path(command[0]).name
    try:
        # A new session lets us kill `mix` together with the BEAM it starts.
        proc = subprocess.Popen(
            list(command),
            cwd=str(cwd),
            stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
    except OSError as exc:
        raise ToolError(f"cannot start {name}: {exc}") from None
    try:
        out, err = proc.communicate(input=input_text.encode("utf-8") if input_text is not None else None, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        proc.communicate()
        raise ToolError(f"{name} did not finish within {timeout:g}s and was stopped") from None
    return ToolOutput(proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


def kill_group(proc: subprocess.Popen) -> None:
    """Kill a process started with ``start_new_session=True`` and everything it spawned."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            proc.kill()
        except ProcessLookupError:
            pass


def find_json_object(text: str, key: str, tool: str) -> dict:
    """The first JSON object in ``text`` that has ``key``; tools print banners and warnings around it."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    attempts = 0
    while start != -1 and attempts < 500:
        attempts += 1
        try:
            obj, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            obj = None
        if isinstance(obj, dict) and key in obj:
            return obj
        start = text.find("{", start + 1)
    if not text.strip():
        raise ToolError(f"{tool} printed nothing")
    raise ToolError(f'{tool} printed no JSON object with "{key}": {tail(text, 300)}')
