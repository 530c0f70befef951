"""A real vLLM (CPU) server on a tiny random model, shared by the tests in this directory.

The server runs from its own virtualenv (scripts/setup_vllm.sh). Where the engine cannot run here
(no virtualenv, vLLM does not import, the CPU lacks an instruction it needs) every test is skipped
with the reason, which `pytest -rs` prints.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

VLLM_VENV = Path(os.environ.get("VLLM_VENV", str(Path.home() / ".cache" / "elixir-coder" / "vllm-venv")))
START_TIMEOUT_S = float(os.environ.get("VLLM_START_TIMEOUT_S", "240"))
_REPORT: list[str] = []  # lines for the terminal summary (server start time)
# What the engine prints when this CPU cannot run it: a reason to skip, not a failure.
CPU_UNSUPPORTED = ("illegal instruction", "sigill", "unsupported cpu", "cpu does not support")


@dataclass
class VllmServer:
    """A running server: its base URL (…/v1), the model directory (= served model name) and its log."""

    url: str
    model_dir: Path
    python: Path
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server's output, for failure messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _build_model(out: Path) -> Path:
    """The tiny checkpoint: hidden 64 / 2 heads gives head size 32, which vLLM's CPU attention supports."""
    from elixir_coder_lsp.inference.tiny_model import build_tiny_checkpoint

    return build_tiny_checkpoint(out, hidden_size=64, num_heads=2, num_layers=2, max_position_embeddings=512)


def _engine_python() -> Path:
    python = VLLM_VENV / "bin" / "python"
    if not python.is_file():
        pytest.skip(f"vLLM virtualenv not found at {VLLM_VENV}; run scripts/setup_vllm.sh (or set VLLM_VENV)")
    probe = subprocess.run([str(python), "-c", "import vllm, llguidance"], capture_output=True, text=True, timeout=300)
    if probe.returncode == -signal.SIGILL:
        pytest.skip(f"vLLM cannot run on this CPU: importing it died of SIGILL (an instruction this CPU lacks), venv {VLLM_VENV}")
    if probe.returncode != 0:
        tail = "\n".join((probe.stderr or probe.stdout).strip().splitlines()[-5:])
        pytest.skip(f"vLLM does not import in {VLLM_VENV} (exit {probe.returncode}):\n{tail}")
    return python


def _existing_server(base_url: str) -> VllmServer:
    """A server someone already started (VLLM_TEST_URL=http://host:port/v1), e.g. while developing."""
    import json

    with urllib.request.urlopen(f"{base_url.rstrip('/')}/models", timeout=10) as resp:
        model = json.loads(resp.read())["data"][0]
    return VllmServer(url=base_url.rstrip("/"), model_dir=Path(model.get("root") or model["id"]), python=_engine_python(), log_path=Path("/dev/null"))


@pytest.fixture(scope="session")
def vllm_server() -> Iterator[VllmServer]:
    """Start `vllm.entrypoints.openai.api_server` with the guidance structured-output backend; stop it after the session."""
    if os.environ.get("VLLM_TEST_URL"):
        yield _existing_server(os.environ["VLLM_TEST_URL"])
        return
    python = _engine_python()
    # Not pytest's tmp_path: other pytest sessions on the machine prune those while the server still reads it.
    work = Path(tempfile.mkdtemp(prefix="elixir-coder-vllm-"))
    model_dir = _build_model(work / "tiny-llama")
    port = _free_port()
    log_path = work / "server.log"
    env = dict(os.environ)
    env.update(
        VLLM_CPU_KVCACHE_SPACE="1",
        VLLM_TARGET_DEVICE="cpu",
        VLLM_LOGGING_LEVEL=os.environ.get("VLLM_LOGGING_LEVEL", "INFO"),
        VLLM_NO_USAGE_STATS="1",
        DO_NOT_TRACK="1",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )
    env.pop("PYTHONPATH", None)  # keep the project's venv out of the engine's interpreter
    command = [
        str(python), "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(model_dir),
        "--dtype", "float32",
        "--max-model-len", "512",
        "--structured-outputs-config.backend", "guidance",
        "--enforce-eager",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--max-num-seqs", "8",
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    server = VllmServer(url=f"{base}/v1", model_dir=model_dir, python=python, log_path=log_path)
    started = time.monotonic()
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        while not _healthy(base):
            code = proc.poll()
            if code is not None:
                tail = server.log_tail()
                if code == -signal.SIGILL or any(word in tail.lower() for word in CPU_UNSUPPORTED):
                    pytest.skip(f"vLLM cannot run on this CPU (exit {code}):\n{tail}")
                pytest.fail(f"vLLM server exited with {code} before it was healthy:\n{tail}", pytrace=False)
            if time.monotonic() - started > START_TIMEOUT_S:
                pytest.fail(f"vLLM server not healthy after {START_TIMEOUT_S:.0f} s:\n{server.log_tail()}", pytrace=False)
            time.sleep(1.0)
        _REPORT.append(f"vLLM server ready on {base} in {time.monotonic() - started:.1f} s")
        yield server
    finally:
        _stop(proc)
        shutil.rmtree(work, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say how long the server took to start: CI budgets this stage."""
    for line in _REPORT:
        terminalreporter.write_line(line)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server's whole process group (the API server spawns an engine-core process)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass
