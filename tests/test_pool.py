"""ModelPool: routing (explicit, weighted A/B sticky per key, least outstanding), named instances, metrics."""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import Future

import pytest
import torch

from elixir_coder_lsp.settings import ModelSettings, RoutingSettings, Settings
from elixir_coder_lsp.inference.pool import ModelPool, least_outstanding, pick_weighted, sticky_fraction
from elixir_coder_lsp.inference.types import GenerationError, GenerationRequest, GenerationResult, InstanceStatus, SamplingParams

torch.set_num_threads(1)
TIMEOUT = 120


def settings_for(models: dict[str, ModelSettings], weights: dict[str, float] | None = None, default: str = "default") -> Settings:
    return Settings(models=models, routing=RoutingSettings(default=default, weights=weights or {}))


class RecordingBackend:
    """A stand-in backend for routing-only tests (no model): answers each request at once."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[str] = []
        self.held: list[Future] = []
        self.hold = False
        self.closed = False

    def submit(self, request, on_event=None):
        self.seen.append(request.id)
        fut: Future = Future()
        if self.hold:
            self.held.append(fut)
        else:
            fut.set_result(GenerationResult(request_id=request.id, completions=[], instance=self.name))
        return fut

    def cancel(self, request_id):
        return False

    def status(self):
        return InstanceStatus(name=self.name, state="idle")

    def close(self):
        self.closed = True


def recording_pool(settings: Settings) -> tuple[ModelPool, dict[str, RecordingBackend]]:
    made: dict[str, RecordingBackend] = {}

    def factory(name, _settings, _on_status):
        made[name] = RecordingBackend(name)
        return made[name]

    return ModelPool(settings, backend_factory=factory, log_interval_s=0, seed=7), made


def test_pick_weighted_and_sticky_fraction():
    assert pick_weighted({"a": 1, "b": 1}, 0.49) == "a"
    assert pick_weighted({"a": 1, "b": 1}, 0.51) == "b"
    assert pick_weighted({"a": 0, "b": 2}, 0.0) == "b"
    assert sticky_fraction("file:///a.ex") == sticky_fraction("file:///a.ex")
    assert 0 <= sticky_fraction("x") < 1


def test_weighted_split_follows_weights_statistically():
    models = {"default": ModelSettings(checkpoint="a"), "candidate": ModelSettings(checkpoint="b")}
    pool, _ = recording_pool(settings_for(models, {"default": 0.8, "candidate": 0.2}))
    rng = random.Random(0)
    keys = [f"file:///doc{rng.getrandbits(40)}.ex" for _ in range(4000)]
    counts = Counter(pool.choose_instance(GenerationRequest(prompt="", sticky_key=k)) for k in keys)
    assert abs(counts["candidate"] / len(keys) - 0.2) < 0.03
    # sticky: the same document always sees the same variant
    for k in keys[:200]:
        picks = {pool.choose_instance(GenerationRequest(prompt="", sticky_key=k)) for _ in range(3)}
        assert len(picks) == 1
    # without a key, the pool's seeded generator splits by weight too
    unkeyed = Counter(pool.choose_instance(GenerationRequest(prompt="")) for _ in range(4000))
    assert abs(unkeyed["candidate"] / 4000 - 0.2) < 0.03


def test_explicit_instance_default_and_unknown():
    models = {"default": ModelSettings(checkpoint="a"), "other": ModelSettings(checkpoint="b")}
    pool, made = recording_pool(settings_for(models))
    assert pool.choose_instance(GenerationRequest(prompt="")) == "default"
    r = pool.submit(GenerationRequest(prompt="", instance="other")).result(1)
    assert r.instance == "other" and "default" not in made
    with pytest.raises(GenerationError, match="Unknown model instance 'nope'") as err:
        pool.submit(GenerationRequest(prompt="", instance="nope")).result(1)
    assert err.value.kind == "unavailable"


def test_least_outstanding_across_replicas():
    assert least_outstanding([2, 0, 1]) == 1
    assert least_outstanding([1, 1, 1], start=2) == 2
    pool, made = recording_pool(settings_for({"default": ModelSettings(checkpoint="a", replicas=3)}))
    for name in ("default#1", "default#2", "default#3"):
        pool._backend(pool._instances["default"], int(name[-1]) - 1)
    made["default#1"].hold = True  # replica 1 never finishes: the others take the load
    futures = [pool.submit(GenerationRequest(prompt="")) for _ in range(9)]
    assert len(made["default#1"].seen) == 1
    assert len(made["default#2"].seen) + len(made["default#3"].seen) == 8
    assert pool.statuses()[0].queue == 1
    assert sum(f.done() for f in futures) == 8


def test_update_settings_restarts_changed_instances_only():
    models = {"default": ModelSettings(checkpoint="a"), "other": ModelSettings(checkpoint="b")}
    pool, made = recording_pool(settings_for(models))
    pool.submit(GenerationRequest(prompt="", instance="default")).result(1)
    pool.submit(GenerationRequest(prompt="", instance="other")).result(1)
    first_default, first_other = made["default"], made["other"]
    pool.update_settings(settings_for({"default": ModelSettings(checkpoint="a"), "other": ModelSettings(checkpoint="c")}))
    pool.submit(GenerationRequest(prompt="", instance="default")).result(1)
    pool.submit(GenerationRequest(prompt="", instance="other")).result(1)
    assert made["default"] is first_default and made["other"] is not first_other
    import time

    deadline = time.monotonic() + 5
    while not first_other.closed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert first_other.closed


def test_statuses_without_starting_anything():
    pool = ModelPool(settings_for({"default": ModelSettings(checkpoint="/nowhere")}), log_interval_s=0)
    (status,) = pool.statuses()
    assert status.name == "default" and status.state == "stopped" and status.checkpoint == "/nowhere"
    pool.close()


def test_two_named_instances_run_independently(tiny_model_dir, tiny_chat_model_dir):
    reports: list[InstanceStatus] = []
    models = {
        "default": ModelSettings(checkpoint=str(tiny_model_dir), max_batch_size=8),
        "chat": ModelSettings(checkpoint=str(tiny_chat_model_dir), max_batch_size=8),
    }
    pool_settings = settings_for(models, {"default": 0.5, "chat": 0.5})
    pool = ModelPool(pool_settings, on_status=reports.append, num_threads=1, log_interval_s=0)
    try:
        params = SamplingParams(temperature=0, max_new_tokens=12)
        futures = [pool.submit(GenerationRequest(prompt="defmodule Foo do", params=params, sticky_key=f"doc{i}")) for i in range(12)]
        results = [f.result(TIMEOUT) for f in futures]
        by_instance: dict[str, set[str]] = {}
        for r in results:
            by_instance.setdefault(r.instance, set()).add(r.completions[0].text)
        # both instances served; each is deterministic (greedy) and the two random models differ
        assert set(by_instance) == {"default", "chat"}
        assert all(len(texts) == 1 for texts in by_instance.values())
        assert by_instance["default"] != by_instance["chat"]
        statuses = {s.name: s for s in pool.statuses()}
        assert statuses["default"].requests + statuses["chat"].requests == 12
        assert all(s.state == "idle" and s.p50_ms is not None for s in statuses.values())
        assert {r.name for r in reports} == {"default", "chat"}
        # the chat instance's prompts use its chat template; the plain one gets a completion prompt
        assert "<|assistant|>" in pool.build_prompt("generate", "add two numbers", instance="chat")
        assert pool.build_prompt("generate", "add two numbers", instance="default").startswith("# ")
        pool.log_metrics(force=True)
        from elixir_coder_lsp.commands.models import instances

        rows = {r["name"]: r for r in instances(pool_settings, pool)}
        assert rows["chat"]["state"] == "idle" and rows["chat"]["tokens_per_s"] > 0 and rows["chat"]["p95_ms"] is not None
        # a crash of one instance leaves the other serving
        import os
        import signal

        os.kill(pool._instances["default"].replicas[0].pid, signal.SIGKILL)
        again = pool.submit(GenerationRequest(prompt="defmodule Foo do", params=params, instance="chat")).result(TIMEOUT)
        assert again.completions[0].text in by_instance["chat"]
    finally:
        pool.close()


def test_models_command_lists_settings_without_starting(tmp_path, capsys):
    import json

    from elixir_coder_lsp.cli import main

    cfg = tmp_path / "cfg.toml"
    cfg.write_text('[models.default]\ncheckpoint = "/models/a"\n[models.remote]\ncheckpoint = "org/m"\nbackend = "openai"\nurl = "http://127.0.0.1:9/v1"\n')
    assert main(["models", "--json", "--config", str(cfg)]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {r["name"]: r for r in data["instances"]}
    assert set(rows) == {"default", "remote"}
    assert rows["remote"]["backend"] == "openai" and rows["default"]["state"] == "stopped"
    assert set(rows["default"]) == {"name", "checkpoint", "backend", "state", "queue", "tokens_per_s", "p50_ms", "p95_ms"}
    assert main(["models", "--config", str(cfg)]) == 0
    assert "default" in capsys.readouterr().out
