"""Settings in the server: every source (docs/protocol.md, "Settings"), merged in order, errors shown once."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from elixir_coder_lsp.config import load_settings
from elixir_coder_lsp.settings import Settings

log = logging.getLogger(__name__)


class SettingsState:
    """Holds the layers the server has seen and recomputes Settings when one changes."""

    def __init__(self) -> None:
        self.workspace_root: Path | None = None
        self.init_options: dict[str, Any] | None = None
        self.client_settings: dict[str, Any] | None = None
        self.settings = Settings()

    def recompute(self) -> list[str]:
        """Rebuild Settings from all layers; returns every problem found (bad values use defaults)."""
        settings, errors = load_settings(
            workspace_root=self.workspace_root,
            init_options=self.init_options,
            client_settings=self.client_settings,
        )
        self.settings = settings
        return errors
