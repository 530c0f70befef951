"""Find the Mix project around a file and decide how (and whether) real Credo and Sobelow can run."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from elixir_coder_lsp.settings import Settings

ToolKind = Literal["mix", "escript"]


@dataclass(frozen=True)
class ToolSpec:
    """How to start one tool: through the project's `mix` or a standalone escript."""

    kind: ToolKind
    command: list[str] = field(default_factory=list)  # prefix: ["mix", "credo"] or ["/path/to/credo"]
    reason: str = ""  # why this way, for logs and `models`/status output


@dataclass(frozen=True)
class ToolAvailability:
    """Which real tools are usable for one project root; `None` means the built-in rules are used."""

    credo: ToolSpec | None
    sobelow: ToolSpec | None
    credo_reason: str
    sobelow_reason: str
    errors: list[str] = field(default_factory=list)  # `real` requested but unavailable: report these


def find_project_root(path: str | os.PathLike[str]) -> Path | None:
    """The nearest directory at or above ``path`` holding a mix.exs, or None."""
    here = Path(path).resolve()
    if here.is_file() or not here.exists():
        here = here.parent
    for candidate in (here, *here.parents):
        if (candidate / "mix.exs").is_file():
            return candidate
    return None


def _lock_files(root: Path) -> list[Path]:
    # An umbrella child (apps/NAME) shares the umbrella's mix.lock two levels up.
    locks = [root / "mix.lock"]
    umbrella = root.parent.parent
    if root.parent.name == "apps" and (umbrella / "mix.exs").is_file():
        locks.append(umbrella / "mix.lock")
    return locks


def locked_deps(root: Path) -> set[str]:
    """Names of the dependencies listed in the project's mix.lock (empty when there is none)."""
    names: set[str] = set()
    for lock in _lock_files(root):
        try:
            text = lock.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        names.update(re.findall(r'^\s*"([a-z0-9_]+)"\s*:', text, flags=re.MULTILINE))
    return names


def _deps_dir(root: Path, env: Mapping[str, str]) -> list[Path]:
    dirs = []
    if env.get("MIX_DEPS_PATH"):
        dirs.append(Path(env["MIX_DEPS_PATH"]))
    dirs.append(root / "deps")
    if root.parent.name == "apps":
        dirs.append(root.parent.parent / "deps")
    return dirs


def _which(name: str, search_path: str | None) -> str | None:
    return shutil.which(name, path=search_path)


def _detect_one(
    tool: str, mode: str, root: Path | None, settings: Settings, search_path: str | None, env: Mapping[str, str]
) -> tuple[ToolSpec | None, str]:
    label = {"credo": "Credo", "sobelow": "Sobelow"}[tool]
    if mode == "off":
        return None, f"checks.{tool} is off"
    if mode == "builtin":
        return None, f"checks.{tool} is builtin"
    reasons: list[str] = []
    has_mix_exs = root is not None and (root / "mix.exs").is_file()
    if tool == "sobelow" and not has_mix_exs:
        return None, "Sobelow needs a mix.exs at the project root; it scans nothing without one"
    if has_mix_exs and root is not None and tool in locked_deps(root):
        if not settings.trusted_workspace:
            reasons.append(f"{tool} is in mix.lock but the workspace is not trusted (trustedWorkspace = false)")
        elif _which("mix", search_path) is None:
            reasons.append(f"{tool} is in mix.lock but `mix` is not on PATH")
        elif not any((d / tool).is_dir() for d in _deps_dir(root, env)):
            reasons.append(f"{tool} is in mix.lock but deps/{tool} is missing (run `mix deps.get`)")
        else:
            return ToolSpec("mix", ["mix", tool], f"{tool} from the project's mix.lock"), f"{label} via mix"
    escript = _which(tool, search_path)
    if escript:
        # An escript runs only its own code, never the project's, so it needs no trust.
        return ToolSpec("escript", [escript], f"{tool} escript at {escript}"), f"{label} escript"
    if not reasons:
        reasons.append(f"{tool} is not in mix.lock and no `{tool}` escript is on PATH")
    return None, "; ".join(reasons)


def detect_tools(
    root: str | os.PathLike[str] | None,
    settings: Settings,
    *,
    search_path: str | None = None,
    env: Mapping[str, str] | None = None,
) -> ToolAvailability:
    """Decide per tool: mix (trusted project with it in mix.lock), escript on PATH, or None with a reason.

    Modes (checks.credo / checks.sobelow): off and builtin give None; auto gives the real tool when
    available; real gives the tool or an entry in ``errors`` saying why it cannot run.
    """
    env = os.environ if env is None else env
    search_path = env.get("PATH") if search_path is None else search_path
    root_path = Path(root) if root is not None else None
    errors: list[str] = []
    specs: dict[str, tuple[ToolSpec | None, str]] = {}
    for tool, mode in (("credo", settings.checks.credo), ("sobelow", settings.checks.sobelow)):
        spec, reason = _detect_one(tool, mode, root_path, settings, search_path, env)
        if spec is None and mode == "real":
            errors.append(f'checks.{tool} is "real" but {tool.capitalize()} cannot run: {reason}')
        specs[tool] = (spec, reason)
    return ToolAvailability(
        credo=specs["credo"][0],
        sobelow=specs["sobelow"][0],
        credo_reason=specs["credo"][1],
        sobelow_reason=specs["sobelow"][1],
        errors=errors,
    )


_FORMATTER_LINE_LENGTH = re.compile(r"line_length:\s*(\d+)")


def formatter_line_length(root: Path | None, default: int = 98) -> int:
    """`line_length` from the project's .formatter.exs, read as text (never evaluated)."""
    if root is None:
        return default
    try:
        text = (root / ".formatter.exs").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return default
    m = _FORMATTER_LINE_LENGTH.search(text)
    return int(m.group(1)) if m else default
