"""Multi-root workspaces through the real server (issue 13): each document is diagnosed with the settings of the
workspace folder that holds it, and a folder added or removed later brings or takes its settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import init_params, open_doc, record_diagnostics, server_config, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="function")

IO_INSPECT = "Credo.Check.Warning.IoInspect"
CODE = "defmodule Demo do\n  @moduledoc false\n  def f(x) do\n    IO.inspect(x)\n  end\nend\n"
QUIET = '[checks]\ncredo = "off"\nonChangeDebounceMs = 0\n'  # no built-in Credo rules in this folder


@pytest_lsp.fixture(config=server_config({"ELIXIR_CODER_MODEL": ""}))
async def client(lsp_client: LanguageClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Folders quiet (its file turns Credo off), loud (no file) and small (the client's settings for that folder only:
    a 40-byte document limit; its file tries a user-only key). The root is the first folder."""
    record_diagnostics(lsp_client)
    for name in ("quiet", "loud", "small", "later"):
        (tmp_path / name / "lib").mkdir(parents=True)
    (tmp_path / "quiet" / ".elixir-coder.toml").write_text(QUIET)
    (tmp_path / "small" / ".elixir-coder.toml").write_text("trustedWorkspace = true\n")
    (tmp_path / "later" / ".elixir-coder.toml").write_text("[limits]\nmaxDocumentBytes = 40\n")
    lsp_client.set_configuration({"checks": {"onChangeDebounceMs": 0}}, section="elixirCoder")
    lsp_client.set_configuration({"limits": {"maxDocumentBytes": 40}}, section="elixirCoder", scope_uri=(tmp_path / "small").as_uri())
    params = init_params({}, root=tmp_path / "quiet")
    params.workspace_folders = [types.WorkspaceFolder(uri=(tmp_path / n).as_uri(), name=n) for n in ("quiet", "loud", "small")]
    lsp_client.root = tmp_path  # type: ignore[attr-defined]
    await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


def latest(client: LanguageClient, uri: str) -> list[types.Diagnostic] | None:
    published = [p for p in client._published if p.uri == uri]  # type: ignore[attr-defined]
    return list(published[-1].diagnostics) if published else None


async def diagnosed(client: LanguageClient, uri: str, predicate) -> list[types.Diagnostic]:
    """Wait until the latest diagnostics of ``uri`` satisfy ``predicate``."""
    await wait_until(lambda: (d := latest(client, uri)) is not None and predicate(d), timeout=30)
    return latest(client, uri) or []


def rules(diagnostics: list[types.Diagnostic]) -> set[str]:
    return {str(d.code) for d in diagnostics}


def uri_in(client: LanguageClient, folder: str, name: str = "demo.ex") -> str:
    return (client.root / folder / "lib" / name).as_uri()  # type: ignore[attr-defined]


async def test_each_document_is_diagnosed_with_its_own_folders_settings(client: LanguageClient):
    quiet, loud, small = uri_in(client, "quiet"), uri_in(client, "loud"), uri_in(client, "small")
    for uri in (quiet, loud, small):
        open_doc(client, uri, CODE)
    # loud has no settings file: the built-in Credo rules run
    assert IO_INSPECT in rules(await diagnosed(client, loud, lambda d: bool(d)))
    # quiet's .elixir-coder.toml turns them off there (and only there)
    assert IO_INSPECT not in rules(await diagnosed(client, quiet, lambda d: True))
    # small's own workspace/configuration scope sets a limit the other folders do not have
    assert rules(await diagnosed(client, small, lambda d: bool(d))) == {"ElixirCoder.DocumentTooLarge"}
    # a document outside every folder takes the root's (the first folder's) settings, as with one root
    outside = (client.root / "outside.ex").as_uri()  # type: ignore[attr-defined]
    open_doc(client, outside, CODE)
    assert IO_INSPECT not in rules(await diagnosed(client, outside, lambda d: True))


async def test_a_folders_file_still_cannot_set_user_only_keys(client: LanguageClient):
    messages = await wait_until(lambda: [m for m in client.messages if "may not set" in m.message])
    assert len(messages) == 1  # the folder's own message, once
    assert "trustedWorkspace" in messages[0].message and str(client.root / "small") in messages[0].message  # type: ignore[attr-defined]


async def test_an_added_folder_brings_its_settings_and_a_removed_one_takes_them(client: LanguageClient):
    root = client.root  # type: ignore[attr-defined]
    later, small = uri_in(client, "later"), uri_in(client, "small")
    open_doc(client, later, CODE)
    open_doc(client, small, CODE)
    # "later" is not a workspace folder yet: outside every folder, so the root's settings apply (no size limit)
    assert "ElixirCoder.DocumentTooLarge" not in rules(await diagnosed(client, later, lambda d: True))
    assert "ElixirCoder.DocumentTooLarge" in rules(await diagnosed(client, small, lambda d: bool(d)))
    client.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(
                added=[types.WorkspaceFolder(uri=(root / "later").as_uri(), name="later")],
                removed=[types.WorkspaceFolder(uri=(root / "small").as_uri(), name="small")],
            )
        )
    )
    # the open documents of both folders are diagnosed again: later's file now applies, small's scope no longer
    await diagnosed(client, later, lambda d: rules(d) == {"ElixirCoder.DocumentTooLarge"})
    await diagnosed(client, small, lambda d: "ElixirCoder.DocumentTooLarge" not in rules(d))
    fresh = uri_in(client, "later", "fresh.ex")
    open_doc(client, fresh, CODE)
    assert rules(await diagnosed(client, fresh, lambda d: bool(d))) == {"ElixirCoder.DocumentTooLarge"}
    # a folder without a settings file, added later, has the defaults (built-in Credo rules on), not the root's
    (root / "loud2" / "lib").mkdir(parents=True)
    client.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(added=[types.WorkspaceFolder(uri=(root / "loud2").as_uri(), name="loud2")], removed=[])
        )
    )
    loud2 = uri_in(client, "loud2")
    open_doc(client, loud2, CODE)
    assert IO_INSPECT in rules(await diagnosed(client, loud2, lambda d: IO_INSPECT in rules(d)))


async def test_saving_a_folders_settings_file_applies_it_to_that_folders_documents(client: LanguageClient):
    root = client.root  # type: ignore[attr-defined]
    loud, quiet = uri_in(client, "loud"), uri_in(client, "quiet")
    open_doc(client, loud, CODE)
    open_doc(client, quiet, CODE)
    assert IO_INSPECT in rules(await diagnosed(client, loud, lambda d: bool(d)))
    (root / "loud" / ".elixir-coder.toml").write_text(QUIET)
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=(root / "loud" / ".elixir-coder.toml").as_uri()))
    )
    await diagnosed(client, loud, lambda d: IO_INSPECT not in rules(d))
    assert IO_INSPECT not in rules(await diagnosed(client, quiet, lambda d: True))
