"""One pipeline façade per workspace folder, so each document is checked and generated for with its folder's settings.

The root façade (`ElixirCoderServer.coder`) serves the root and every document outside the folders; each
other folder gets an `ElixirCoder` of its own (its settings, `.credo.exs` cache and real Credo/Sobelow)
that shares the root façade's Elixir helper and model pool: a second folder never starts a second
helper or loads a model again.
"""

from __future__ import annotations

import os
from pathlib import Path

from elixir_coder_lsp.api import ElixirCoder
from elixir_coder_lsp.lsp.configuration import SettingsState


class FolderCoders:
    """The façades of a workspace, kept in step with a `SettingsState`."""

    def __init__(self, root: ElixirCoder, config: SettingsState) -> None:
        self.root = root
        self.config = config
        self._coders: dict[Path, ElixirCoder] = {}

    def sync(self) -> list[Path]:
        """Apply the state's current folders and settings: the root façade and each folder's take their new settings,
        a new folder gets a façade, a removed one's is closed. Returns the folders added or removed."""
        config = self.config
        folders = list(config.folders)
        if config.workspace_root != self.root.workspace_root or folders != self.root.workspace_folders:
            self.root.set_workspace_root(config.workspace_root, folders)
        self.root.update_settings(config.settings)
        changed = [folder for folder in self._coders if folder not in config.by_folder]
        for folder in changed:
            self._coders.pop(folder).close()  # its project tools; the helper and the pool are the root's
        for folder, settings in config.by_folder.items():
            coder = self._coders.get(folder)
            if coder is None:
                coder = ElixirCoder(settings, workspace_root=folder, shared=self.root)
                coder.set_workspace_root(folder, folders)
                self._coders[folder] = coder
                changed.append(folder)
            else:
                coder.update_settings(settings)
                if coder.workspace_folders != folders:
                    coder.set_workspace_root(folder, folders)
        return changed

    def for_path(self, path: str | os.PathLike[str] | None) -> ElixirCoder:
        """The façade for the document at ``path`` (a file system path; None: the root's)."""
        folder = self.config.folder_of(path)
        return self.root if folder is None else self._coders.get(folder, self.root)

    def all(self) -> list[ElixirCoder]:
        """The root façade, then each folder's."""
        return [self.root, *self._coders.values()]

    def close(self) -> None:
        """Close the folders' façades (the root façade is closed by its owner, with the helper and the pool)."""
        coders, self._coders = self._coders, {}
        for coder in coders.values():
            coder.close()
