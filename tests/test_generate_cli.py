"""`elixir-coder generate` with a tiny local model: the JSON shape and exit codes of docs/protocol.md, "CLI"."""

from __future__ import annotations

import json

from elixir_coder_lsp.cli import main


def test_generate_json_shape(tiny_model_dir, tmp_path, capsys, helper):
    config = tmp_path / "c.toml"
    config.write_text(
        f'[models.default]\ncheckpoint = "{tiny_model_dir}"\nmaxNewTokens = 40\n[generation]\ncandidates = 6\ntemperature = 1.0\n'
    )
    code = main(["generate", "add two numbers", "--config", str(config), "--json", "--entry-rule", "expr_seq", "--no-clarify"])
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= {"status", "code", "findings", "attempts", "question"}
    assert doc["status"] in ("generated", "not_clean", "failed")
    if doc["status"] == "failed":
        assert code == 1 and "ran out of tokens" in doc.get("message", "")
    else:
        assert helper.parse(doc["code"]).ok
        assert code == (0 if doc["status"] == "generated" else 1)


def test_generate_with_an_unloadable_model_is_a_clear_error(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text(f'[models.default]\ncheckpoint = "{tmp_path / "missing"}"\n')
    assert main(["generate", "x", "--config", str(config), "--json"]) == 2
    err = capsys.readouterr()
    assert "missing" in err.err
    assert json.loads(err.out)["status"] == "failed"


def test_generate_empty_request_is_a_usage_error(capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("  "))
    assert main(["generate", "-"]) == 2
