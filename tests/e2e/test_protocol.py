"""The pygls 2.1.1 workarounds in lsp/protocol.py, one test each, against the real server over stdio."""

from __future__ import annotations

import asyncio
import time

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled
from pytest_lsp import LanguageClient

from tests.e2e.conftest import init_params, server_config

pytestmark = pytest.mark.asyncio(loop_scope="function")


@pytest_lsp.fixture(config=server_config())
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(init_params())
    yield
    await lsp_client.shutdown_session()


def sleep_command(client: LanguageClient, seconds: float, msg_id: str) -> asyncio.Future:
    params = types.ExecuteCommandParams(command="elixirCoder.test.sleep", arguments=[{"seconds": seconds}])
    return asyncio.wrap_future(client.protocol.send_request(types.WORKSPACE_EXECUTE_COMMAND, params, msg_id=msg_id))


def finished_logs(client: LanguageClient) -> list[str]:
    return [m.message for m in client.log_messages if m.message == "elixirCoder.test.sleep finished"]


async def test_cancel_request_stops_a_running_command(client: LanguageClient):
    started = time.monotonic()
    fut = sleep_command(client, 1.5, "sleep-1")
    await asyncio.sleep(0.5)  # the handler is running now, not queued
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="sleep-1"))
    with pytest.raises(JsonRpcRequestCancelled):
        await asyncio.wait_for(fut, timeout=10)
    assert time.monotonic() - started < 1.5
    await asyncio.sleep(2.0)  # past the handler's natural end: it must not have run to completion
    assert finished_logs(client) == []


async def test_commands_still_work_after_a_cancelled_one(client: LanguageClient):
    fut = sleep_command(client, 20, "sleep-2")
    await asyncio.sleep(0.3)
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="sleep-2"))
    with pytest.raises(JsonRpcRequestCancelled):
        await asyncio.wait_for(fut, timeout=10)
    result = await asyncio.wait_for(sleep_command(client, 0.01, "sleep-3"), timeout=10)
    assert result.slept is True if hasattr(result, "slept") else result["slept"] is True


@pytest_lsp.fixture(config=server_config())
async def bare_client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(init_params())
    yield


async def test_shutdown_during_a_running_command_exits_cleanly(bare_client: LanguageClient):
    client = bare_client
    fut = sleep_command(client, 30, "sleep-4")
    await asyncio.sleep(0.5)
    await asyncio.wait_for(client.shutdown_async(None), timeout=10)
    client.exit(None)
    server = client._server
    assert server is not None
    code = await asyncio.wait_for(server.wait(), timeout=15)
    assert code == 0
    assert client.error is None
    assert fut.done()  # the command was answered (cancelled) rather than left hanging


async def test_unknown_command_and_bad_arguments_are_clear_errors(client: LanguageClient):
    from pygls.exceptions import JsonRpcInvalidParams

    with pytest.raises(JsonRpcInvalidParams):
        await client.workspace_execute_command_async(types.ExecuteCommandParams(command="elixirCoder.nope", arguments=[{}]))
    with pytest.raises(JsonRpcInvalidParams):
        await client.workspace_execute_command_async(types.ExecuteCommandParams(command="elixirCoder.cancel", arguments=[{}]))
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="elixirCoder.cancel", arguments=[{"jobId": "job-404"}])
    )
    assert (result["cancelled"] if isinstance(result, dict) else result.cancelled) is False
