"""Which workspace folder holds a file, for multi-root workspaces (docs/protocol.md, "Where the files come from")."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from pathlib import Path


@functools.lru_cache(maxsize=256)
def _resolved(folder: Path) -> Path:
    # a workspace's folders are looked up for every document event; resolving them is file system work
    return folder.resolve()


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
        resolved = _resolved(Path(folder))
        depth = len(resolved.parts)
        if depth > best_depth and target.is_relative_to(resolved):
            best, best_depth = folder, depth
    return best
