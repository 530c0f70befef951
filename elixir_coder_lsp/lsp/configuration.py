"""Settings in the server: every source (docs/protocol.md, "Settings"), merged in order, errors shown once.

In a multi-root workspace each workspace folder has its own settings: the user-level sources, the folder's
`.elixir-coder.toml` and the client's settings for that folder (`workspace/configuration` with the
folder as `scopeUri`), with the same precedence and trust rules as a single root. A document takes the
settings of the folder that holds it; one outside every folder takes the root's (the root URI, else the
first folder). One model pool and one log serve every folder, so `models`, `routing` and `log` are the
root's everywhere (`SERVER_WIDE`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from lsprotocol import types

from elixir_coder_lsp.config import load_settings
from elixir_coder_lsp.folders import holding_folder
from elixir_coder_lsp.settings import SECTION, Settings, to_camel

log = logging.getLogger(__name__)

# Settings fields every folder takes from the root: the model pool and the log belong to the server.
SERVER_WIDE: tuple[str, ...] = ("models", "routing", "log")


class SettingsState:
    """Holds the layers the server has seen and recomputes Settings, the root's and each folder's, when one changes."""

    def __init__(self) -> None:
        self.workspace_root: Path | None = None
        self.folders: dict[Path, str] = {}  # workspace folder -> its URI as the client sent it, in the client's order
        self.init_options: dict[str, Any] | None = None
        self.client_settings: dict[str, Any] | None = None  # workspace/configuration without a scope, or a pushed object
        self.folder_client_settings: dict[Path, dict[str, Any]] = {}  # workspace/configuration with the folder as scopeUri
        self.settings = Settings()  # the root's: documents outside every folder, and the SERVER_WIDE keys
        self.by_folder: dict[Path, Settings] = {}  # every folder but the root

    # -- the folders and the client's settings ----------------------------------------------------------------

    def set_folders(self, root: Path | None, folders: dict[Path, str]) -> None:
        """The workspace root and folders (initialize, workspace/didChangeWorkspaceFolders); call recompute() next."""
        self.workspace_root = root
        self.folders = dict(folders)
        self.folder_client_settings = {f: s for f, s in self.folder_client_settings.items() if f in self.folders}

    def configuration_items(self) -> list[types.ConfigurationItem]:
        """One `workspace/configuration` request: the section without a scope, then the section for each folder."""
        return [types.ConfigurationItem(section=SECTION)] + [
            types.ConfigurationItem(section=SECTION, scope_uri=uri) for uri in self.folders.values()
        ]

    def take_configuration(self, result: Any, pushed: dict[str, Any] | None = None) -> None:
        """Store the client's reply to `configuration_items()` (items in the same order); a folder whose item is
        missing or not an object takes the unscoped one. ``pushed`` (didChangeConfiguration's settings) wins over
        the unscoped item."""
        items = list(result) if isinstance(result, (list, tuple)) else []  # pygls gives a tuple
        unscoped = pushed if pushed is not None else (items[0] if items and isinstance(items[0], dict) else None)
        if unscoped is not None:
            self.client_settings = unscoped
        self.folder_client_settings = {
            folder: item for folder, item in zip(self.folders, items[1:]) if isinstance(item, dict)
        }

    def push(self, settings: dict[str, Any]) -> None:
        """didChangeConfiguration with settings and no way to ask per folder: they are the client's, for every folder."""
        self.client_settings = settings
        self.folder_client_settings = {}

    # -- computing settings --------------------------------------------------------------------------------------

    def recompute(self) -> list[str]:
        """Rebuild Settings from all layers, for the root and each folder; returns every problem found once
        (bad values use defaults)."""
        settings, errors = self._load(self.workspace_root)
        by_folder: dict[Path, Settings] = {}
        for folder in self.folders:
            if folder == self.workspace_root:
                continue
            folder_settings, folder_errors = self._load(folder)
            errors += folder_errors + take_server_wide(folder_settings, settings, folder)
            by_folder[folder] = folder_settings
        self.settings, self.by_folder = settings, by_folder
        return list(dict.fromkeys(errors))  # the user-level layers' problems repeat for each folder

    def _load(self, root: Path | None) -> tuple[Settings, list[str]]:
        client = self.folder_client_settings.get(root, self.client_settings) if root is not None else self.client_settings
        return load_settings(workspace_root=root, init_options=self.init_options, client_settings=client)

    # -- which settings a document takes -----------------------------------------------------------------------

    def folder_of(self, path: str | os.PathLike[str] | None) -> Path | None:
        """The folder with settings of its own that holds ``path``; None when the root's settings apply."""
        folder = holding_folder(path, self.folders)
        return None if folder is None or folder == self.workspace_root else folder

    def root_for(self, path: str | os.PathLike[str] | None) -> Path | None:
        """The directory ``path``'s settings are relative to (`checks.exclude`): its folder, else the root."""
        return self.folder_of(path) or self.workspace_root

    def settings_for(self, path: str | os.PathLike[str] | None) -> Settings:
        """The settings of the document at ``path`` (a file system path; None: the root's)."""
        folder = self.folder_of(path)
        return self.settings if folder is None else self.by_folder.get(folder, self.settings)


def take_server_wide(settings: Settings, root: Settings, folder: Path) -> list[str]:
    """Give a folder's settings the root's `SERVER_WIDE` parts; a message names those the folder set otherwise."""
    differ = [to_camel(name) for name in SERVER_WIDE if getattr(settings, name) != getattr(root, name)]
    for name in SERVER_WIDE:
        setattr(settings, name, getattr(root, name))
    if not differ:
        return []
    return [
        f"{folder}: {', '.join(differ)} apply to the whole server (one model pool, one log): the workspace "
        "root's are used and this folder's ignored"
    ]
