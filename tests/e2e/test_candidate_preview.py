"""Candidate preview through the real server: with `generation.preview` and `clientUi.ask`, the user picks the code.

The model is `tests/e2e/fake_model.py`, whose samples differ (raise vs `{:error, reason}`), so there are
several checked candidates to choose from.
"""

from __future__ import annotations

from typing import Any

import pytest
import pytest_lsp
from pytest_lsp import LanguageClient

from tests.e2e.fake_model import FakeModelServer
from tests.e2e.conftest import init_params, record_diagnostics, record_edits, server_config, wait_until
from tests.e2e.test_ask import _get, answer_with, edits_for, ended, generate

pytestmark = pytest.mark.asyncio(loop_scope="module")


def settings(url: str) -> dict[str, Any]:
    return {
        "checks": {"onChangeDebounceMs": 0},
        "models": {"default": {"backend": "openai", "url": url, "maxNewTokens": 256}},
        "generation": {"candidates": 4, "temperature": 0.8, "maxRepairAttempts": 1, "preview": True, "cleanThreshold": "error"},
        "clarification": {"enabled": False},
        "clientUi": {"ask": True},
    }


@pytest_lsp.fixture(config=server_config(), scope="module")
async def client(lsp_client: LanguageClient, fake_model: FakeModelServer):
    record_diagnostics(lsp_client)
    lsp_client.edits = record_edits(lsp_client)  # type: ignore[attr-defined]
    await lsp_client.initialize_session(init_params(settings(fake_model.url)))
    yield lsp_client
    await lsp_client.shutdown_session()


async def test_the_picked_candidate_is_inserted(client: LanguageClient) -> None:
    picked: list[str] = []

    def choose(params: Any) -> dict[str, Any]:
        options = _get(params, "options")
        assert len(options) >= 2 and all(" finding" in _get(o, "description") for o in options)
        picked.append(_get(options[-1], "label"))  # not the best one: the pick must win
        return {"answer": picked[-1]}

    asked = answer_with(client, choose)
    uri, job_id = await generate(client, "preview")
    assert await ended(client, job_id) == "done"
    assert len(asked) == 1 and _get(asked[0], "question") == "Which candidate should be inserted?"
    (edit,) = await wait_until(lambda: edits_for(client, uri), timeout=30)  # "done" is reported just before the edit
    first_line = picked[0].split(". ", 1)[1].split("\n")[0].strip()
    assert first_line in edit.new_text


async def test_a_dismissed_preview_applies_nothing(client: LanguageClient) -> None:
    answer_with(client, lambda params: {"cancelled": True})
    uri, job_id = await generate(client, "dismissed")
    assert await ended(client, job_id) != "done"
    assert edits_for(client, uri) == []
