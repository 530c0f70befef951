"""Reading source files the way every front end does: size limit, binary and encoding checks, errors as values."""

from __future__ import annotations

from pathlib import Path


def read_source(path: Path, max_bytes: int | None = None) -> tuple[str | None, str | None]:
    """(text, None) or (None, reason) for unreadable, too large, binary or non-UTF-8 files."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, f"cannot read: {exc.strerror or exc}"
    if max_bytes is not None and len(data) > max_bytes:
        return None, f"too large ({len(data)} bytes, limit {max_bytes})"
    if b"\x00" in data:
        return None, "binary file (contains NUL bytes)"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, f"not valid UTF-8 (byte {exc.start})"
