"""`checks.exclude` globs (e.g. `deps/**`), shared by the CLI's directory walk and the server."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable
from pathlib import Path


def is_excluded(rel: str, patterns: Iterable[str]) -> bool:
    """True when a workspace-relative path matches a glob; `dir/**` also matches `dir` itself."""
    rel = rel.replace(os.sep, "/")
    for pat in patterns:
        if fnmatch.fnmatch(rel, pat) or (pat.endswith("/**") and (rel == pat[:-3] or rel.startswith(pat[:-2]))):
            return True
    return False


def is_excluded_path(path: str | None, root: Path | None, patterns: Iterable[str]) -> bool:
    """Like is_excluded for an absolute path, made relative to the workspace root when inside it."""
    if not path:
        return False
    p = Path(path)
    rel = str(p.relative_to(root)) if root is not None and p.is_relative_to(root) else str(p)
    return is_excluded(rel, patterns)
