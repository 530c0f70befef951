"""Settings: schema, validation messages, sources and their precedence (docs/protocol.md, "Settings")."""

from __future__ import annotations

from pathlib import Path

import pytest

from elixir_coder_lsp.config import default_user_config_path, load_settings, merge, parse_settings, to_camel_dict
from elixir_coder_lsp.settings import MONITORS, ROLES, ModelSettings, Settings
from elixir_coder_lsp.severity import severity_for_credo_priority, severity_for_sobelow_confidence


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def isolated(tmp_path: Path) -> dict:
    """load_settings keyword arguments that read nothing from the real machine."""
    return {"env": {}, "user_config_path": tmp_path / "no-user-config.toml"}


# --- schema and defaults --------------------------------------------------------------------


def test_defaults_match_contract() -> None:
    s, errors = parse_settings({})
    assert errors == []
    assert s.trusted_workspace is False
    assert list(s.models) == ["default"]
    m = s.models["default"]
    assert (m.checkpoint, m.backend, m.device, m.dtype) == ("Qwen/Qwen2.5-Coder-1.5B-Instruct", "local", "auto", "auto")
    assert (m.max_batch_size, m.batch_timeout_ms, m.max_sequence_length, m.max_new_tokens, m.replicas) == (16, 10, 4096, 512, 1)
    assert set(m.roles) == set(ROLES) and m.roles["question"].template == ""
    assert s.routing.default == "default" and s.routing.weights == {}
    assert s.generation.candidates == 5 and s.generation.temperature == 0.2
    assert s.generation.monitors == {name: True for name in MONITORS}
    assert s.inline.debounce_ms == 150 and s.inline.as_completion_item is False
    assert s.clarification.entropy_threshold == 0.6 and s.clarification.cluster_threshold == 3
    assert s.checks.credo == "auto" and s.checks.exclude == ["deps/**", "_build/**"]
    assert (s.checks.severity.credo_error, s.checks.severity.credo_warning, s.checks.severity.credo_information) == (20, 10, 0)
    assert s.limits.max_document_bytes == 2_000_000 and s.log.level == "info"
    assert s.client_ui.ask is False


def test_to_camel_dict_round_trips() -> None:
    s, _ = parse_settings({"generation": {"maxRepairAttempts": 1, "monitors": {"dbg": False}}})
    d = to_camel_dict(s)
    assert d["generation"]["maxRepairAttempts"] == 1
    assert d["generation"]["monitors"]["dbg"] is False
    assert d["models"]["default"]["maxBatchSize"] == 16
    assert d["checks"]["severity"] == {"credoError": 20, "credoWarning": 10, "credoInformation": 0}
    again, errors = parse_settings(d)
    assert errors == [] and again == s


# --- validation messages --------------------------------------------------------------------


def test_bad_value_names_key_and_default() -> None:
    s, errors = parse_settings({"generation": {"temperature": "hot"}})
    assert s.generation.temperature == 0.2
    assert errors == ["generation.temperature: expected a number between 0 and 2, got 'hot'; using 0.2"]


@pytest.mark.parametrize(
    ("raw", "path", "used"),
    [
        ({"trustedWorkspace": "yes"}, "trustedWorkspace", "using false"),
        ({"checks": {"credo": "sometimes"}}, "checks.credo", "using 'auto'"),
        ({"inline": {"debounceMs": -5}}, "inline.debounceMs", "using 150"),
        ({"generation": {"candidates": 2.5}}, "generation.candidates", "using 5"),
        ({"models": {"default": {"device": "tpu"}}}, "models.default.device", "using 'auto'"),
        ({"checks": {"exclude": "deps/**"}}, "checks.exclude", "using ["),
        ({"generation": {"monitors": {"dbg": "no"}}}, "generation.monitors.dbg", "using true"),
        ({"log": {"level": True}}, "log.level", "using 'info'"),
    ],
)
def test_each_bad_value_gives_one_message(raw: dict, path: str, used: str) -> None:
    _, errors = parse_settings(raw)
    assert len(errors) == 1
    assert errors[0].startswith(path + ": expected ")
    assert used in errors[0]


def test_integral_float_is_accepted_and_cuda_index_allowed() -> None:
    s, errors = parse_settings({"generation": {"candidates": 4.0}, "models": {"default": {"device": "cuda:1"}}})
    assert errors == []
    assert s.generation.candidates == 4 and isinstance(s.generation.candidates, int)
    assert s.models["default"].device == "cuda:1"


def test_unknown_keys_are_reported_with_a_hint() -> None:
    s, errors = parse_settings({"checks": {"credoo": "off"}, "inline": {"max_new_tokens": 8}, "zzz": 1})
    assert "unknown setting checks.credoo (did you mean checks.credo?)" in errors
    assert "unknown setting inline.max_new_tokens (did you mean inline.maxNewTokens?)" in errors
    assert "unknown setting zzz" in errors
    assert s.checks.credo == "auto" and s.inline.max_new_tokens == 64


def test_unknown_role_and_monitor() -> None:
    _, errors = parse_settings({"models": {"default": {"roles": {"review": {}}}}, "generation": {"monitors": {"zzz": True}}})
    assert sorted(errors) == ["unknown setting generation.monitors.zzz", "unknown setting models.default.roles.review"]


def test_section_that_is_not_a_table() -> None:
    s, errors = parse_settings({"generation": 3})
    assert errors == ["generation: expected a table of settings, got 3; using the defaults"]
    assert s.generation.candidates == 5


def test_severity_thresholds_must_be_ordered() -> None:
    s, errors = parse_settings({"checks": {"severity": {"credoError": 5}}})
    assert len(errors) == 1 and errors[0].startswith("checks.severity: expected credoError >= credoWarning")
    assert s.checks.severity.credo_error == 20


def test_openai_backend_without_url_is_reported() -> None:
    _, errors = parse_settings({"models": {"default": {"backend": "openai"}}})
    assert errors == ["models.default.url: the openai backend needs a url (e.g. http://host:8000/v1)"]


# --- models and routing ---------------------------------------------------------------------


def test_two_model_instances() -> None:
    s, errors = parse_settings(
        {
            "models": {
                "default": {"checkpoint": "/models/small"},
                "candidate": {"checkpoint": "/models/big", "replicas": 2, "roles": {"repair": {"adapter": "/lora/r"}}},
            },
            "routing": {"default": "default", "weights": {"default": 0.9, "candidate": 0.1}},
        }
    )
    assert errors == []
    assert set(s.models) == {"default", "candidate"}
    cand = s.models["candidate"]
    assert cand.checkpoint == "/models/big" and cand.replicas == 2
    assert cand.max_batch_size == ModelSettings().max_batch_size  # per-field defaults
    assert cand.roles["repair"].adapter == "/lora/r" and cand.roles["generate"].adapter == ""
    assert s.routing.weights == {"default": 0.9, "candidate": 0.1}


def test_default_instance_always_present() -> None:
    s, errors = parse_settings({"models": {"big": {"checkpoint": "x"}}, "routing": {"default": "big"}})
    assert errors == []
    assert set(s.models) == {"default", "big"} and s.routing.default == "big"


def test_routing_must_name_existing_instances_with_non_negative_weights() -> None:
    s, errors = parse_settings({"routing": {"default": "ghost", "weights": {"default": 1, "nope": 0.5, "neg": -1}}})
    assert s.routing.default == "default"
    assert s.routing.weights == {"default": 1.0}
    assert any(e.startswith("routing.default: no model instance named 'ghost'") for e in errors)
    assert "routing.weights.nope: no model instance named 'nope'; ignored" in errors
    assert any(e.startswith("routing.weights.neg: expected a number >= 0, got -1") for e in errors)


def test_all_zero_weights_are_dropped() -> None:
    s, errors = parse_settings({"routing": {"weights": {"default": 0}}})
    assert s.routing.weights == {} and len(errors) == 1


def test_model_instance_that_is_not_a_table_is_dropped() -> None:
    s, errors = parse_settings({"models": {"x": 3}})
    assert set(s.models) == {"default"}
    assert errors == ["models.x: expected a table of model settings, got 3; ignored"]


# --- merge and sources ----------------------------------------------------------------------


def test_merge_is_deep_and_later_wins() -> None:
    a = {"generation": {"candidates": 3, "monitors": {"dbg": False}}, "checks": {"exclude": ["a"]}}
    b = {"generation": {"monitors": {"osCmd": False}}, "checks": {"exclude": ["b"]}}
    assert merge(a, None, b) == {
        "generation": {"candidates": 3, "monitors": {"dbg": False, "osCmd": False}},
        "checks": {"exclude": ["b"]},
    }
    assert a["generation"]["monitors"] == {"dbg": False}  # inputs untouched


def test_defaults_only(isolated: dict) -> None:
    s, errors = load_settings(**isolated)
    assert errors == [] and s == Settings()


def test_env_sets_default_checkpoint(isolated: dict) -> None:
    s, errors = load_settings(**{**isolated, "env": {"ELIXIR_CODER_MODEL": "/models/tiny"}})
    assert errors == [] and s.models["default"].checkpoint == "/models/tiny"


def test_user_file_from_xdg_and_home(tmp_path: Path) -> None:
    _write(tmp_path / "xdg" / "elixir-coder" / "config.toml", 'trustedWorkspace = true\n')
    s, errors = load_settings(env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert errors == [] and s.trusted_workspace is True
    assert default_user_config_path({"HOME": "/h"}) == Path("/h/.config/elixir-coder/config.toml")
    assert default_user_config_path({"XDG_CONFIG_HOME": "/x", "HOME": "/h"}) == Path("/x/elixir-coder/config.toml")


def test_precedence_order(tmp_path: Path) -> None:
    user = _write(tmp_path / "user.toml", '[models.default]\ncheckpoint = "user"\nreplicas = 2\n[generation]\ncandidates = 2\ntemperature = 0.3\n')
    root = tmp_path / "ws"
    _write(root / ".elixir-coder.toml", "[generation]\ncandidates = 3\nmaxRepairAttempts = 4\n[inline]\ndebounceMs = 10\n")
    cli = _write(tmp_path / "cli.toml", "[generation]\nmaxRepairAttempts = 5\n[inline]\nmaxNewTokens = 7\n")
    env = {"ELIXIR_CODER_MODEL": "env-model"}
    init = {"inline": {"maxNewTokens": 8, "enabled": False}, "clientUi": {"ask": True}}
    client = {"elixirCoder": {"inline": {"enabled": True}}}
    s, errors = load_settings(
        workspace_root=root, init_options=init, client_settings=client, env=env, user_config_path=user, config_file=cli
    )
    assert errors == []
    assert s.models["default"].checkpoint == "user"  # user file > env
    assert s.models["default"].replicas == 2
    assert s.generation.temperature == 0.3  # only in the user file
    assert s.generation.candidates == 3  # workspace > user
    assert s.inline.debounce_ms == 10
    assert s.generation.max_repair_attempts == 5  # --config > workspace
    assert s.inline.max_new_tokens == 8  # initializationOptions > --config
    assert s.inline.enabled is True  # workspace/configuration > initializationOptions
    assert s.client_ui.ask is True


def test_env_below_user_file_only_when_set(tmp_path: Path) -> None:
    user = _write(tmp_path / "user.toml", "[generation]\ncandidates = 2\n")
    s, _ = load_settings(env={"ELIXIR_CODER_MODEL": "env-model"}, user_config_path=user)
    assert s.models["default"].checkpoint == "env-model"


def test_bad_value_falls_back_to_lower_layer_and_names_source(tmp_path: Path, isolated: dict) -> None:
    root = tmp_path / "ws"
    _write(root / ".elixir-coder.toml", "[generation]\ntemperature = 0.4\n")
    s, errors = load_settings(**isolated, workspace_root=root, client_settings={"generation": {"temperature": "hot"}})
    assert s.generation.temperature == 0.4
    assert errors == [
        "workspace/configuration: generation.temperature: expected a number between 0 and 2, got 'hot'; using 0.4"
    ]


def test_bad_toml_names_file_and_line_and_layer_is_skipped(tmp_path: Path, isolated: dict) -> None:
    root = tmp_path / "ws"
    bad = _write(root / ".elixir-coder.toml", "[generation]\ncandidates = 3\ntemperature = = 1\n")
    s, errors = load_settings(**isolated, workspace_root=root)
    assert s.generation.candidates == 5  # the whole layer is skipped
    assert len(errors) == 1
    assert errors[0].startswith(f"{bad}:3: not valid TOML")
    assert errors[0].endswith("file ignored")


def test_missing_files(tmp_path: Path, isolated: dict) -> None:
    s, errors = load_settings(**isolated, workspace_root=tmp_path)
    assert errors == []
    s, errors = load_settings(**isolated, config_file=tmp_path / "nope.toml")
    assert errors == [f"{tmp_path / 'nope.toml'}: settings file not found; ignored"]


def test_unknown_key_in_file_names_file(tmp_path: Path, isolated: dict) -> None:
    cli = _write(tmp_path / "c.toml", "[checks]\ncredoo = 'off'\n")
    _, errors = load_settings(**isolated, config_file=cli)
    assert errors == [f"{cli}: unknown setting checks.credoo (did you mean checks.credo?)"]


@pytest.mark.parametrize("wrapped", [True, False])
def test_lsp_section_wrapped_or_bare(wrapped: bool, isolated: dict) -> None:
    section = {"checks": {"sobelow": "off"}}
    raw = {"elixirCoder": section} if wrapped else section
    s, errors = load_settings(**isolated, init_options=raw, client_settings=raw)
    assert errors == [] and s.checks.sobelow == "off"
    s, errors = parse_settings(raw)
    assert errors == [] and s.checks.sobelow == "off"


def test_client_ui_only_from_init_options(isolated: dict) -> None:
    s, errors = load_settings(**isolated, client_settings={"clientUi": {"ask": True}})
    assert s.client_ui.ask is False
    assert errors == ["workspace/configuration: clientUi: only read from initializationOptions; ignored"]


# --- severity mapping -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "expected"),
    [(20, "error"), (25, "error"), (19, "warning"), (10, "warning"), (9, "information"), (0, "information"), (-1, "hint"), (-8, "hint")],
)
def test_credo_priority_to_severity(priority: int, expected: str) -> None:
    assert severity_for_credo_priority(priority) == expected
    assert severity_for_credo_priority(priority, Settings()) == expected


def test_credo_thresholds_are_configurable() -> None:
    s, _ = parse_settings({"checks": {"severity": {"credoError": 12, "credoWarning": 1, "credoInformation": -10}}})
    assert severity_for_credo_priority(12, s) == "error"
    assert severity_for_credo_priority(1, s.checks) == "warning"
    assert severity_for_credo_priority(-8, s.checks.severity) == "information"
    assert severity_for_credo_priority(-11, s) == "hint"


def test_sobelow_confidence_to_severity() -> None:
    assert severity_for_sobelow_confidence("high") == "error"
    assert severity_for_sobelow_confidence("medium_confidence") == "warning"
    assert severity_for_sobelow_confidence("low") == "information"
    assert severity_for_sobelow_confidence(None) == "information"


def test_odd_lsp_payloads(isolated: dict) -> None:
    s, errors = load_settings(**isolated, client_settings=[{"inline": {"enabled": False}}])  # type: ignore[arg-type]
    assert errors == [] and s.inline.enabled is False
    s, errors = load_settings(**isolated, init_options={"elixirCoder": None}, client_settings={})
    assert errors == [] and s == Settings()
    s, errors = load_settings(**isolated, client_settings="nonsense")  # type: ignore[arg-type]
    assert errors == ["workspace/configuration: elixirCoder: expected a table of settings, got 'nonsense'; ignored"]
    assert s == Settings()
