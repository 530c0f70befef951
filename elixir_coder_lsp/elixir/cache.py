"""The helper's compile caches: its modules precompiled once per Elixir installation, rules per contents.

Both live under $XDG_CACHE_HOME/elixir-coder (or ~/.cache), keyed by a digest of what they were
built from, so a changed helper or rule never runs stale code.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

HELPER_SCRIPT = Path(__file__).with_name("helper.exs")
HELPER_PARTS_DIR = HELPER_SCRIPT.with_name("helper")  # the helper's own modules, loaded in name order
NO_CACHE_ENV = "ELIXIR_CODER_HELPER_NO_CACHE"


def helper_cache_dir(elixir: str) -> Path | None:
    """Where the precompiled helper lives, keyed by its sources and the Elixir/OTP installation."""
    if os.environ.get(NO_CACHE_ENV) == "1":
        return None
    digest = hashlib.sha256(HELPER_SCRIPT.read_bytes())
    for part in helper_parts():
        digest.update(part.name.encode() + b"\0" + part.read_bytes())
    for exe in (elixir, shutil.which("erl") or ""):
        if exe:
            real = os.path.realpath(exe)
            try:
                digest.update(f"{real}:{os.stat(real).st_mtime_ns}".encode())
            except OSError:
                pass
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "elixir-coder" / f"helper-{digest.hexdigest()[:20]}"


def helper_parts() -> list[Path]:
    """The helper's module files in load order."""
    return sorted(HELPER_PARTS_DIR.glob("*.exs"))


def rules_cache_dir(helper_cache: Path) -> Path:
    """Where the helper caches compiled rules/*.exs, keyed by their names and contents."""
    digest = hashlib.sha256(helper_cache.name.encode())
    for path in sorted((HELPER_SCRIPT.parent / "rules").glob("*.exs")):
        digest.update(path.name.encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            pass
        digest.update(b"\0")
    return helper_cache.parent / f"rules-{digest.hexdigest()[:20]}"


def compile_helper(elixir: str, cache: Path, env: dict[str, str]) -> None:
    """Precompile the helper into ``cache`` with elixirc (left absent when that fails)."""
    elixirc = Path(elixir).with_name("elixirc")
    compiler = str(elixirc) if elixirc.exists() else shutil.which("elixirc")
    if compiler is None:
        return
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=cache.parent))
        done = subprocess.run(
            [compiler, "-o", str(tmp), *map(str, helper_parts())],
            env={**env, "ELIXIR_CODER_HELPER_COMPILE_ONLY": "1"},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=300,
        )
        if done.returncode != 0:
            log.debug("precompiling the helper failed: %s", done.stderr.decode("utf-8", "replace")[-500:])
            shutil.rmtree(tmp, ignore_errors=True)
            return
        (tmp / "complete").write_text("")
        try:
            os.replace(tmp, cache)
        except OSError:  # another process got there first
            shutil.rmtree(tmp, ignore_errors=True)
        prune_caches(cache.parent)
    except (OSError, subprocess.SubprocessError) as e:
        log.debug("could not precompile the elixir helper: %s", e)


def prune_caches(root: Path, max_age_s: float = 7 * 86400) -> None:
    """Removes helper/rules caches unused for a week (each change of the code leaves one)."""
    now = time.time()
    for path in [*root.glob("helper-*"), *root.glob("rules-*")]:
        try:
            if now - path.stat().st_mtime > max_age_s:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass
