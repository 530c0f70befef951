"""The real Credo/Sobelow of one workspace: which run, their runners, and one call for a saved buffer."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elixir_coder_lsp.findings import Finding
from elixir_coder_lsp.tools import NothingScanned, ToolError
from elixir_coder_lsp.tools.credo import CredoRunner
from elixir_coder_lsp.tools.project import ToolAvailability, detect_tools, find_project_root
from elixir_coder_lsp.tools.sobelow import SobelowRunner

log = logging.getLogger(__name__)


@dataclass
class RealToolResult:
    """Findings of the real tools for one buffer, and problems worth telling the user about."""

    findings: list[Finding] = field(default_factory=list)
    tools: tuple[str, ...] = ()  # which real tools produced them ("credo", "sobelow")
    errors: list[str] = field(default_factory=list)


class ProjectTools:
    """Real tools for a workspace, detected once per settings change; runners are long-lived."""

    def __init__(self, workspace_root: Path | None, settings: Any) -> None:
        self.workspace_root = workspace_root
        self.settings = settings
        self._lock = threading.Lock()
        self._availability: dict[Path | None, ToolAvailability] = {}
        self._credo: dict[Path, CredoRunner] = {}
        self._sobelow: dict[Path, SobelowRunner] = {}

    def _root_for(self, filename: str | None) -> Path | None:
        if filename:
            root = find_project_root(filename)
            if root is not None:
                return root
        return self.workspace_root

    def availability(self, filename: str | None = None) -> ToolAvailability:
        """What runs for the project that holds `filename` (cached)."""
        root = self._root_for(filename)
        with self._lock:
            if root not in self._availability:
                self._availability[root] = detect_tools(root, self.settings)
            return self._availability[root]

    def replaced_sets(self, filename: str | None = None) -> set[str]:
        """Built-in rule sets that a real tool replaces for this file."""
        avail = self.availability(filename)
        return {name for name in ("credo", "sobelow") if getattr(avail, name) is not None}

    def check(self, code: str, filename: str) -> RealToolResult:
        """Run every available real tool on a saved buffer (Sobelow scans the project on disk)."""
        avail = self.availability(filename)
        root = self._root_for(filename)
        result = RealToolResult(errors=list(avail.errors))
        if root is None:
            return result
        used: list[str] = []
        if avail.credo is not None:
            runner = self._credo.get(root) or self._credo.setdefault(root, CredoRunner(root, avail.credo, settings=self.settings))
            try:
                result.findings.extend(runner.check(code, filename))
                used.append("credo")
            except ToolError as exc:
                result.errors.append(f"Credo: {exc}")
        if avail.sobelow is not None:
            runner_s = self._sobelow.get(root) or self._sobelow.setdefault(root, SobelowRunner(root, avail.sobelow))
            try:
                found = runner_s.check_project()
                here = Path(filename).resolve()
                result.findings.extend(f for f in found if f.file and Path(f.file).resolve() == here)
                used.append("sobelow")
            except NothingScanned as exc:
                log.info("Sobelow scanned nothing: %s", exc)
                used.append("sobelow")
            except ToolError as exc:
                result.errors.append(f"Sobelow: {exc}")
        result.tools = tuple(used)
        return result

    def close(self) -> None:
        """Stop persistent runners."""
        with self._lock:
            runners = list(self._credo.values())
            self._credo.clear()
            self._sobelow.clear()
            self._availability.clear()
        for runner in runners:
            runner.close()
