"""Shared test fixtures. Helpers append their fixtures below; keep each one session-cheap."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

try:
    import torch
except ImportError:  # the helper tests do not need torch
    torch = None
if torch is not None:
    # The CI machine is small and shared; one thread per test process keeps runs predictable.
    torch.set_num_threads(1)

from elixir_coder_lsp.elixir import ElixirHelper


@pytest.fixture(scope="session")
def helper() -> Iterator[ElixirHelper]:
    """One real Elixir helper for the whole test session."""
    with ElixirHelper(timeout=30.0) as h:
        yield h


# --- tiny models (helper D) -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory):
    """A tiny random Llama + byte-level BPE trained on the project's Elixir samples (built once per session)."""
    from elixir_coder_lsp.inference.tiny_model import build_tiny_checkpoint

    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny-model") / "llama")


@pytest.fixture(scope="session")
def tiny_chat_model_dir(tmp_path_factory: pytest.TempPathFactory):
    """Like tiny_model_dir, with a chat template and another seed (a second, different model)."""
    from elixir_coder_lsp.inference.tiny_model import build_tiny_checkpoint

    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny-chat-model") / "llama", seed=1, chat_template=True)


# --- grammar masks ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def bpe_tokenizer():
    """The small byte-level BPE the grammar tests mask with (bench/grammar_soundness.py)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from grammar_soundness import build_test_tokenizer

    return build_test_tokenizer()


@pytest.fixture(scope="session")
def mask_store(bpe_tokenizer):
    """The grammar mask store for bpe_tokenizer."""
    from elixir_coder_lsp.inference.constraints import build_mask_store

    return build_mask_store(bpe_tokenizer)


@pytest.fixture(scope="module")
def fake_model():
    """An OpenAI-compatible fake model server (tests/e2e/fake_model.py), one per test module."""
    from tests.e2e.fake_model import FakeModelServer

    server = FakeModelServer()
    yield server
    server.close()

