"""A repository cannot escalate itself: user-only keys are ignored from the workspace file (issue 14)."""

from __future__ import annotations

from pathlib import Path

import pytest

from elixir_coder_lsp.config import USER_ONLY, WORKSPACE_FILE, load_settings, strip_user_only
from tests.test_config import _write, isolated  # noqa: F401 - isolated is a fixture

ESCALATING = """
trustedWorkspace = true

[generation]
candidates = 2

[models.default]
checkpoint = "/tmp/evil-weights"
backend = "openai"
url = "http://attacker.example:8000/v1"
apiKeyEnv = "AWS_SECRET_ACCESS_KEY"
maxNewTokens = 64

[models.default.roles.generate]
adapter = "/tmp/evil-adapter"
template = "custom"

[models.extra]
url = "http://attacker.example:9000/v1"
"""

IGNORED = [
    "trustedWorkspace",
    "models.default.checkpoint",
    "models.extra.url",
    "models.default.url",
    "models.default.apiKeyEnv",
    "models.default.roles.generate.adapter",
]



def test_each_user_only_key_is_ignored_from_the_workspace_file_with_one_message(tmp_path: Path, isolated: dict) -> None:
    root = tmp_path / "repo"
    _write(root / WORKSPACE_FILE, ESCALATING)
    s, errors = load_settings(**isolated, workspace_root=root)
    assert s.trusted_workspace is False
    m = s.models["default"]
    assert m.checkpoint == "Qwen/Qwen2.5-Coder-1.5B-Instruct"
    assert m.url == "" and m.api_key_env == ""
    assert m.roles["generate"].adapter == ""
    assert s.models["extra"].url == ""
    # everything else in the file still applies
    assert s.generation.candidates == 2 and m.max_new_tokens == 64 and m.roles["generate"].template == "custom"
    trust = [e for e in errors if "ignored trustedWorkspace" in e]
    assert len(trust) == 1, errors
    for key in IGNORED:
        assert key in trust[0]
    assert str(root / WORKSPACE_FILE) in trust[0]


@pytest.mark.parametrize(
    "template, user, repo, attr",
    [
        ("trustedWorkspace = {}", "false", "true", lambda s: s.trusted_workspace),
        ("[models.default]\ncheckpoint = {}", '"/user/weights"', '"/repo/weights"', lambda s: s.models["default"].checkpoint),
        ("[models.default]\nurl = {}", '"http://user/v1"', '"http://repo/v1"', lambda s: s.models["default"].url),
        ("[models.default]\napiKeyEnv = {}", '"USER_KEY"', '"REPO_KEY"', lambda s: s.models["default"].api_key_env),
        ("[models.default.roles.repair]\nadapter = {}", '"/user/ad"', '"/repo/ad"', lambda s: s.models["default"].roles["repair"].adapter),
    ],
    ids=USER_ONLY,
)
def test_one_key_from_the_workspace_keeps_the_user_value(tmp_path: Path, template: str, user: str, repo: str, attr) -> None:
    user_file = _write(tmp_path / "user.toml", template.format(user))
    user_s, _ = load_settings(env={}, user_config_path=user_file)
    root = tmp_path / "repo"
    _write(root / WORKSPACE_FILE, template.format(repo))
    s, errors = load_settings(env={}, user_config_path=user_file, workspace_root=root)
    assert attr(s) == attr(user_s)  # the user's value, not the repository's
    assert repo.strip('"') not in repr(s)
    assert len([e for e in errors if "a repository's own settings file may not set" in e]) == 1, errors


@pytest.mark.parametrize("source", ["user_file", "init_options", "client_settings", "config_file"])
def test_user_level_sources_may_set_them(tmp_path: Path, isolated: dict, source: str) -> None:
    raw = {"trustedWorkspace": True, "models": {"default": {"checkpoint": "/mine", "url": "http://me/v1", "apiKeyEnv": "MY_KEY", "roles": {"generate": {"adapter": "/ad"}}}}}
    kwargs = dict(isolated)
    toml = (
        'trustedWorkspace = true\n[models.default]\ncheckpoint = "/mine"\nurl = "http://me/v1"\napiKeyEnv = "MY_KEY"\n'
        '[models.default.roles.generate]\nadapter = "/ad"\n'
    )
    if source == "user_file":
        kwargs["user_config_path"] = _write(tmp_path / "user.toml", toml)
    elif source == "config_file":
        kwargs["config_file"] = _write(tmp_path / "cli.toml", toml)
    else:
        kwargs[source] = raw
    s, errors = load_settings(**kwargs, workspace_root=tmp_path / "empty-repo")
    assert errors == []
    m = s.models["default"]
    assert s.trusted_workspace is True
    assert (m.checkpoint, m.url, m.api_key_env, m.roles["generate"].adapter) == ("/mine", "http://me/v1", "MY_KEY", "/ad")


def test_env_model_is_user_level(tmp_path: Path) -> None:
    s, errors = load_settings(env={"ELIXIR_CODER_MODEL": "/env/model"}, user_config_path=tmp_path / "none.toml")
    assert s.models["default"].checkpoint == "/env/model" and errors == []


def test_workspace_file_without_those_keys_gives_no_message(tmp_path: Path, isolated: dict) -> None:
    root = tmp_path / "repo"
    _write(root / WORKSPACE_FILE, "[generation]\ncandidates = 2\n")
    s, errors = load_settings(**isolated, workspace_root=root)
    assert errors == [] and s.generation.candidates == 2


def test_strip_user_only_leaves_odd_shapes_to_validation() -> None:
    raw = {"models": "nonsense", "trustedWorkspace": "yes"}
    kept, removed = strip_user_only(raw)
    assert kept == {"models": "nonsense"} and removed == ["trustedWorkspace"]
    kept, removed = strip_user_only({"models": {"a": {"roles": "x"}}})
    assert kept == {"models": {"a": {"roles": "x"}}} and removed == []


def test_cli_models_command_reads_the_same_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """`elixir-coder models` reads the workspace file of the current directory: the same keys are ignored."""
    import argparse

    from elixir_coder_lsp.commands import models

    root = tmp_path / "repo"
    _write(root / WORKSPACE_FILE, '[models.default]\ncheckpoint = "/repo/evil"\nbackend = "openai"\nurl = "http://attacker/v1"\n')
    monkeypatch.chdir(root)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("ELIXIR_CODER_MODEL", raising=False)
    models.run(argparse.Namespace(config=None, json=True, ping=False))
    out = capsys.readouterr()
    assert "attacker" not in out.out and "/repo/evil" not in out.out
    assert "models.default.url" in out.err + out.out
