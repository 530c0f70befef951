"""A workspace's `.credo.exs`, read as data by the Elixir helper (never evaluated), turned into
the `enabled` / `disabled` / `params` arguments of the built-in `check` op."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CONFIG_NAMES = (".credo.exs", "config/.credo.exs")


@dataclass(frozen=True)
class CredoConfig:
    """Checks switched on/off and their params; ``only`` is set by the `checks: %{enabled: [...]}` form."""

    enabled: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    only: tuple[str, ...] | None = None
    path: str | None = None

    def check_args(self) -> dict[str, Any]:
        """Arguments for the helper's `check` op."""
        args: dict[str, Any] = {"enabled": list(self.enabled), "disabled": list(self.disabled), "params": self.params}
        if self.only is not None:
            args["only"] = list(self.only)
        return args


def find_config(root: str | os.PathLike[str]) -> Path | None:
    """`.credo.exs` (or `config/.credo.exs`) at a project root, or None."""
    for name in CONFIG_NAMES:
        candidate = Path(root) / name
        if candidate.is_file():
            return candidate
    return None


def find_project_root(path: str | os.PathLike[str]) -> Path | None:
    """The nearest directory at or above `path` holding a `.credo.exs` or a `mix.exs`."""
    p = Path(path).resolve()
    for d in [p, *p.parents] if p.is_dir() else list(p.parents):
        if find_config(d) or (d / "mix.exs").is_file():
            return d
    return None


def from_result(result: dict[str, Any], path: str | None = None) -> CredoConfig:
    """Turn the helper's `credo_config` result into a CredoConfig."""
    checks = result.get("checks") or {}
    params = {rule: p for rule, p in checks.items() if isinstance(p, dict) and p}
    enabled = tuple(r for r in result.get("enabled") or [] if r.startswith("Credo."))
    disabled = tuple(result.get("disabled") or [])
    only = enabled if result.get("exclusive") else None
    return CredoConfig(enabled=enabled, disabled=disabled, params=params, only=only, path=path)


def parse(code: str, helper: Any = None, path: str | None = None) -> CredoConfig:
    """Parse `.credo.exs` source (raises HelperError on a config that does not parse)."""
    if helper is None:
        from elixir_coder_lsp.elixir.client import default_helper

        helper = default_helper()
    return from_result(helper.request("credo_config", {"code": code}), path)


def load(root: str | os.PathLike[str], helper: Any = None) -> tuple[CredoConfig | None, str | None]:
    """The config of the project at `root`: (config or None, error message or None)."""
    from elixir_coder_lsp.elixir.errors import HelperError

    path = find_config(root)
    if path is None:
        return None, None
    try:
        code = path.read_text(encoding="utf-8")
        return parse(code, helper, str(path)), None
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"{path}: cannot read ({exc})"
    except HelperError as exc:
        return None, f"{path}: not a readable Credo config ({exc.message}); ignored"
