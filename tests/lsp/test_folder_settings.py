"""Per-folder settings in multi-root workspaces (issue 13): which folder holds a file, each folder's settings
from the same sources and trust rules as the root's, and one façade per folder over one helper and one pool."""

from __future__ import annotations

from pathlib import Path

import pytest

from elixir_coder_lsp.api import ElixirCoder
from elixir_coder_lsp.config import WORKSPACE_FILE
from elixir_coder_lsp.folders import holding_folder
from elixir_coder_lsp.lsp.configuration import SettingsState
from elixir_coder_lsp.lsp.folder_coders import FolderCoders


@pytest.fixture(autouse=True)
def no_user_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing from the real machine: no user file, no ELIXIR_CODER_MODEL."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("ELIXIR_CODER_MODEL", raising=False)


def workspace(tmp_path: Path, **tomls: str) -> dict[Path, str]:
    """Folders named by the keywords, each with its `.elixir-coder.toml` when the text is not empty."""
    folders = {}
    for name, text in tomls.items():
        folder = tmp_path / name
        (folder / "lib").mkdir(parents=True)
        if text:
            (folder / WORKSPACE_FILE).write_text(text)
        folders[folder] = folder.as_uri()
    return folders


def state(root: Path | None, folders: dict[Path, str], client: dict | None = None) -> SettingsState:
    config = SettingsState()
    config.set_folders(root, folders)
    config.client_settings = client
    config.recompute()
    return config


# -- which folder holds a file --------------------------------------------------------------------------------


def test_holding_folder_is_the_innermost_folder_that_holds_the_path(tmp_path: Path) -> None:
    outer, inner, other = tmp_path / "ws", tmp_path / "ws" / "apps" / "inner", tmp_path / "other"
    folders = [outer, inner, other]
    assert holding_folder(inner / "lib" / "a.ex", folders) == inner
    assert holding_folder(outer / "lib" / "a.ex", folders) == outer
    assert holding_folder(other, folders) == other  # the folder itself
    assert holding_folder(tmp_path / "elsewhere.ex", folders) is None
    assert holding_folder(tmp_path / "wsx" / "a.ex", folders) is None  # a name prefix is not a parent
    assert holding_folder(None, folders) is None
    assert holding_folder(outer / "lib" / ".." / ".." / "other" / "a.ex", folders) == other


def test_holding_folder_sees_through_symlinks(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "lib").mkdir(parents=True)
    (tmp_path / "link").symlink_to(real)
    assert holding_folder(tmp_path / "link" / "lib" / "a.ex", [real]) == real
    assert holding_folder(real / "lib" / "a.ex", [tmp_path / "link"]) == tmp_path / "link"


# -- each folder's settings -----------------------------------------------------------------------------------


def test_each_document_takes_its_folders_workspace_file(tmp_path: Path) -> None:
    folders = workspace(tmp_path, a='[checks]\ncredo = "off"\n', b="[generation]\ncandidates = 2\n")
    a, b = folders
    config = state(a, folders)
    assert config.settings_for(str(a / "lib" / "x.ex")).checks.credo == "off"
    assert config.settings_for(str(b / "lib" / "x.ex")).checks.credo == "auto"
    assert config.settings_for(str(b / "lib" / "x.ex")).generation.candidates == 2
    assert config.settings_for(str(a / "lib" / "x.ex")).generation.candidates == 5
    # outside every folder (and untitled documents): the root's, as with a single root
    assert config.settings_for(str(tmp_path / "elsewhere.ex")).checks.credo == "off"
    assert config.settings_for(None) is config.settings
    assert config.root_for(str(b / "lib" / "x.ex")) == b and config.root_for(str(tmp_path / "x.ex")) == a


def test_a_root_that_is_not_a_folder_serves_only_the_documents_outside_them(tmp_path: Path) -> None:
    folders = workspace(tmp_path, a='[checks]\ncredo = "off"\n', b="")
    (tmp_path / WORKSPACE_FILE).write_text('[checks]\nsobelow = "off"\n')
    config = state(tmp_path, folders)  # rootUri above both folders
    a, b = folders
    assert (config.settings_for(str(a / "x.ex")).checks.credo, config.settings_for(str(a / "x.ex")).checks.sobelow) == ("off", "auto")
    assert config.settings_for(str(b / "x.ex")).checks.sobelow == "auto"
    assert config.settings_for(str(tmp_path / "x.ex")).checks.sobelow == "off"


def test_client_settings_win_over_the_folder_file_and_a_scoped_reply_is_that_folders(tmp_path: Path) -> None:
    folders = workspace(tmp_path, a="[limits]\nmaxDocumentBytes = 3000\n", b="[limits]\nmaxDocumentBytes = 3000\n")
    a, b = folders
    config = SettingsState()
    config.set_folders(a, folders)
    config.init_options = {"generation": {"candidates": 3}}
    items = config.configuration_items()
    assert [(i.section, i.scope_uri) for i in items] == [("elixirCoder", None), ("elixirCoder", a.as_uri()), ("elixirCoder", b.as_uri())]
    config.take_configuration(({"checks": {"credo": "off"}}, None, {"limits": {"maxDocumentBytes": 9000}}))
    config.recompute()
    sa, sb = config.settings_for(str(a / "x.ex")), config.settings_for(str(b / "x.ex"))
    assert (sa.limits.max_document_bytes, sa.checks.credo) == (3000, "off")  # a null item: the unscoped one
    assert (sb.limits.max_document_bytes, sb.checks.credo) == (9000, "auto")  # its own scope, not the unscoped one
    assert sa.generation.candidates == sb.generation.candidates == 3  # initializationOptions apply to every folder
    config.take_configuration([{}], pushed={"limits": {"maxDocumentBytes": 5000}})  # the pushed object is the unscoped one
    config.recompute()
    assert config.settings_for(str(b / "x.ex")).limits.max_document_bytes == 5000
    config.push({"limits": {"maxDocumentBytes": 7000}})
    config.recompute()
    assert {config.settings_for(str(f / "x.ex")).limits.max_document_bytes for f in folders} == {7000}


def test_a_folder_file_cannot_set_user_only_keys(tmp_path: Path) -> None:
    folders = workspace(tmp_path, a="", b='trustedWorkspace = true\n[models.default]\nurl = "http://attacker.example/v1"\n')
    a, b = folders
    config = SettingsState()
    config.set_folders(a, folders)
    config.client_settings = {"models": {"default": {"checkpoint": "/models/mine"}}}
    errors = config.recompute()
    sb = config.settings_for(str(b / "x.ex"))
    assert sb.trusted_workspace is False and sb.models["default"].url == ""
    assert sb.models["default"].checkpoint == "/models/mine"  # the user's, as in every folder
    assert any(str(b / WORKSPACE_FILE) in e and "trustedWorkspace" in e and "models.default.url" in e for e in errors)
    # a user-level source may trust one folder (workspace/configuration scoped to it)
    config.take_configuration([None, None, {"trustedWorkspace": True}])
    config.recompute()
    assert config.settings_for(str(b / "x.ex")).trusted_workspace is True
    assert config.settings_for(str(a / "x.ex")).trusted_workspace is False


def test_models_routing_and_log_are_the_roots_in_every_folder(tmp_path: Path) -> None:
    folders = workspace(tmp_path, a="", b='[models.default]\nmaxNewTokens = 64\n[routing]\ndefault = "default"\n[log]\nlevel = "debug"\n')
    a, b = folders
    config = state(a, folders)
    errors = config.recompute()
    sb = config.settings_for(str(b / "x.ex"))
    assert sb.models == config.settings.models and sb.models["default"].max_new_tokens == 512
    assert sb.log.level == "info"
    assert [e for e in errors if str(b) in e and "models, log" in e and "whole server" in e]
    assert len(errors) == 1  # routing did not differ; nothing else to say


def test_problems_of_the_user_level_layers_are_reported_once(tmp_path: Path) -> None:
    folders = workspace(tmp_path, a="", b="", c="")
    errors = state(next(iter(folders)), folders, {"generation": {"temperature": "hot"}}).recompute()
    assert len([e for e in errors if "generation.temperature" in e]) == 1


def test_removed_folders_lose_their_settings(tmp_path: Path) -> None:
    folders = workspace(tmp_path, a="", b='[checks]\ncredo = "off"\n')
    a, b = folders
    config = state(a, folders)
    config.take_configuration([{}, {}, {"generation": {"candidates": 1}}])
    config.set_folders(a, {a: folders[a]})
    assert config.folder_client_settings == {a: {}}
    config.recompute()
    assert config.settings_for(str(b / "x.ex")).checks.credo == "auto"  # now outside every folder: the root's
    assert config.by_folder == {}


# -- one façade per folder, one helper and one pool -----------------------------------------------------------


def test_folder_facades_share_the_roots_helper_and_model_pool(tmp_path: Path) -> None:
    folders = workspace(tmp_path, a="", b='[checks]\ncredo = "off"\n')
    a, b = folders
    config = state(a, folders)
    fake_helper = object()
    root = ElixirCoder(config.settings, helper=fake_helper)
    coders = FolderCoders(root, config)
    try:
        assert coders.sync() == [b]
        cb = coders.for_path(str(b / "lib" / "x.ex"))
        assert cb is not root and cb.settings.checks.credo == "off" and cb.workspace_root == b
        assert coders.for_path(str(a / "lib" / "x.ex")) is root and coders.for_path(None) is root
        assert root.workspace_root == a and root.workspace_folders == [a, b]
        assert cb.helper is fake_helper
        assert cb.pool is root.pool and cb._pool is None  # the folder's façade never builds a pool of its own
        assert cb.model_statuses() == root.model_statuses()
        # new settings: the same façade takes them
        (b / WORKSPACE_FILE).write_text("")
        config.recompute()
        assert coders.sync() == [] and coders.for_path(str(b / "x.ex")) is cb and cb.settings.checks.credo == "auto"
        # a removed folder's façade is closed; the shared pool is not
        pool = root.pool
        config.set_folders(a, {a: folders[a]})
        config.recompute()
        assert coders.sync() == [b] and coders.for_path(str(b / "x.ex")) is root
        assert root.pool is pool and root.workspace_folders == [a]
        cb.close()  # closing a folder's façade leaves the helper and the pool alone
        assert root._pool is pool and cb.helper is fake_helper
    finally:
        coders.close()
        root.close()
