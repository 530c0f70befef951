"""Which workspace folder holds a file, for multi-root workspaces (docs/protocol.md, "Where the files come from")."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def holding_folder(path: str | os.PathLike[str] | None, folders: Iterable[Path]) -> Path | None:
    """The folder of ``folders`` that holds ``path`` (the innermost one when folders nest), else None.

    Paths are compared resolved (symlinks, `..`), so `/tmp/x` and `/private/tmp/x` match; the folder is
    returned as given.
    """
    if not path:
        return None
    target = Path(path).resolve()
    best: Path | None = None
    best_depth = -1
    for folder in folders:
        resolved = Path(folder).resolve()
        depth = len(resolved.parts)
        if depth > best_depth and target.is_relative_to(resolved):
            best, best_depth = folder, depth
    return best
