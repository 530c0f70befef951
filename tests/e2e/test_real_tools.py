"""Real Credo on save: its findings replace the built-in Credo rules (the external binary is a recorded stand-in)."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import SERVER_ENV, diagnostics_for, init_params, open_doc, record_diagnostics, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="module")

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference" / "calibration"
SOURCE = (REFERENCE / "src" / "01_inventory_debug_calls.ex").read_text()
RECORDED = (REFERENCE / "expected" / "01_inventory_debug_calls.credo.json").read_text()

WORKSPACE = Path(os.environ.get("PYTEST_TMP", "/tmp")) / f"elixir-coder-real-tools-{os.getpid()}"


def make_workspace() -> tuple[Path, Path]:
    """A Mix project and a `credo` escript stand-in that prints Credo's recorded output for the file."""
    root = WORKSPACE / "project"
    (root / "lib").mkdir(parents=True, exist_ok=True)
    (root / "mix.exs").write_text("defmodule Stub.MixProject do\n  use Mix.Project\n  def project, do: [app: :stub, version: \"0.1.0\"]\nend\n")
    target = root / "lib" / "01_inventory_debug_calls.ex"
    target.write_text(SOURCE)
    bin_dir = WORKSPACE / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    fake = bin_dir / "credo"
    recorded = json.loads(RECORDED)
    for issue in recorded["issues"]:
        issue["filename"] = "lib/01_inventory_debug_calls.ex"
    (bin_dir / "credo.json").write_text(json.dumps(recorded))
    fake.write_text(f"#!{sys.executable}\nimport sys\nsys.stdin.read()\nprint(open({str(bin_dir / 'credo.json')!r}).read())\nsys.exit(16)\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return root, target


ROOT, TARGET = make_workspace()


@pytest_lsp.fixture(
    config=pytest_lsp.ClientServerConfig(
        server_command=[sys.executable, "-m", "elixir_coder_lsp"],
        server_env={**SERVER_ENV, "PATH": f"{WORKSPACE / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"},
    ),
    scope="module",
)
async def client(lsp_client: LanguageClient):
    record_diagnostics(lsp_client)
    params = init_params({"checks": {"onChangeDebounceMs": 0, "sobelow": "builtin"}}, root=ROOT)
    await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


async def test_real_credo_findings_replace_builtin_ones_on_save(client: LanguageClient):
    uri = TARGET.as_uri()
    open_doc(client, uri, SOURCE)
    before = await diagnostics_for(client, uri, 1)
    assert not [d for d in before if str(d.code).startswith("Credo.") and d.source == "elixir-coder"], "real Credo replaces the built-in rules"
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    credo = await wait_until(lambda: [d for d in client.diagnostics.get(uri, []) if d.source == "credo"])
    lines = sorted({d.range.start.line + 1 for d in credo})
    expected = sorted({i["line_no"] for i in json.loads(RECORDED)["issues"]})
    assert lines == expected
    assert all(str(d.code).startswith("Credo.Check.") for d in credo)


async def test_files_under_checks_exclude_get_no_diagnostics(client: LanguageClient):
    uri = (ROOT / "deps" / "some_dep" / "lib" / "noisy.ex").as_uri()
    open_doc(client, uri, "defmodule Noisy do\n  def f(x), do: IO.inspect(x)\nend\n")
    assert await diagnostics_for(client, uri, 1) == []
