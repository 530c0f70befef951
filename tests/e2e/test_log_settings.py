"""`[log]` in the server (docs/protocol.md, "Settings"): without --log-file/--log-level the settings choose."""

from __future__ import annotations

import pytest
import pytest_lsp
from pytest_lsp import LanguageClient

from tests.e2e.conftest import init_params, server_config, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def log_file(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("server-log") / "server.log"


@pytest_lsp.fixture(config=server_config(), scope="module")
async def client(lsp_client: LanguageClient, log_file):
    await lsp_client.initialize_session(init_params({"log": {"level": "debug", "file": str(log_file)}}))
    yield
    await lsp_client.shutdown_session()


async def test_log_settings_send_the_server_log_to_the_file(client, log_file) -> None:
    text = await wait_until(lambda: log_file.is_file() and log_file.read_text(), timeout=30)
    assert " DEBUG " in text or " INFO " in text
