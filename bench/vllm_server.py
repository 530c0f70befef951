"""A real vLLM (CPU) OpenAI-compatible server on a tiny random model: started for tests/vllm and bench/vllm_serving.py.

The server runs from its own virtualenv (scripts/setup_vllm.sh) with the `guidance` structured-output
backend. Where the engine cannot run (no virtualenv, vLLM does not import, the CPU lacks an instruction it
needs) `start` raises VllmUnavailable with the reason and whether it is a property of this machine.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

VLLM_VENV = Path(os.environ.get("VLLM_VENV", str(Path.home() / ".cache" / "elixir-coder" / "vllm-venv")))
START_TIMEOUT_S = float(os.environ.get("VLLM_START_TIMEOUT_S", "240"))
# What the engine prints when this CPU cannot run it.
CPU_UNSUPPORTED = ("illegal instruction", "sigill", "unsupported cpu", "cpu does not support")


class VllmUnavailable(Exception):
    """vLLM cannot serve here; ``machine`` is True when that is a property of the machine (skip, not fail)."""

    def __init__(self, reason: str, *, machine: bool) -> None:
        super().__init__(reason)
        self.machine = machine


@dataclass
class VllmServer:
    """A running server: its base URL (…/v1), the model directory (= served model name) and its log."""

    url: str
    model_dir: Path
    python: Path
    log_path: Path
    started_s: float = 0.0
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server's output, for failure messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Stop the server's whole process group (the API server spawns an engine-core process)."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass


def build_model(out: Path) -> Path:
    """The tiny checkpoint: hidden 64 / 2 heads gives head size 32, which vLLM's CPU attention supports."""
    from elixir_coder_lsp.inference.tiny_model import build_tiny_checkpoint

    return build_tiny_checkpoint(out, hidden_size=64, num_heads=2, num_layers=2, max_position_embeddings=512)


def engine_python(venv: Path = VLLM_VENV) -> Path:
    """The vLLM virtualenv's interpreter, checked to import vllm and llguidance."""
    python = venv / "bin" / "python"
    if not python.is_file():
        raise VllmUnavailable(f"vLLM virtualenv not found at {venv}; run scripts/setup_vllm.sh (or set VLLM_VENV)", machine=True)
    probe = subprocess.run([str(python), "-c", "import vllm, llguidance"], capture_output=True, text=True, timeout=300)
    if probe.returncode == -signal.SIGILL:
        raise VllmUnavailable(f"vLLM cannot run on this CPU: importing it died of SIGILL (an instruction this CPU lacks), venv {venv}", machine=True)
    if probe.returncode != 0:
        tail = "\n".join((probe.stderr or probe.stdout).strip().splitlines()[-5:])
        raise VllmUnavailable(f"vLLM does not import in {venv} (exit {probe.returncode}):\n{tail}", machine=True)
    return python


def existing_server(base_url: str) -> VllmServer:
    """A server someone already started (e.g. VLLM_TEST_URL=http://host:port/v1 while developing)."""
    with urllib.request.urlopen(f"{base_url.rstrip('/')}/models", timeout=10) as resp:
        model = json.loads(resp.read())["data"][0]
    return VllmServer(url=base_url.rstrip("/"), model_dir=Path(model.get("root") or model["id"]), python=engine_python(), log_path=Path("/dev/null"))


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


def start(model_dir: Path, work: Path, *, max_num_seqs: int = 8, timeout_s: float = START_TIMEOUT_S) -> VllmServer:
    """Start `vllm.entrypoints.openai.api_server` on ``model_dir`` and wait until it is healthy."""
    python = engine_python()
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
        "--max-num-seqs", str(max_num_seqs),
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    server = VllmServer(url=f"{base}/v1", model_dir=model_dir, python=python, log_path=log_path, proc=proc)
    while not _healthy(base):
        code = proc.poll()
        if code is not None:
            tail = server.log_tail()
            machine = code == -signal.SIGILL or any(word in tail.lower() for word in CPU_UNSUPPORTED)
            raise VllmUnavailable(f"vLLM server exited with {code} before it was healthy:\n{tail}", machine=machine)
        if time.monotonic() - started > timeout_s:
            server.stop()
            raise VllmUnavailable(f"vLLM server not healthy after {timeout_s:.0f} s:\n{server.log_tail()}", machine=False)
        time.sleep(1.0)
    server.started_s = time.monotonic() - started
    return server
