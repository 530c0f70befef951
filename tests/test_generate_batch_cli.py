"""`elixir-coder generate` with clarification, `elixir-coder batch` and the façade's generate_batch (docs/protocol.md, "CLI").

The model is tests/e2e/fake_model.py behind `backend = "openai"`: its samples split between raising
and returning `{:error, reason}`, so a forced question always comes; its recorded prompts show what
reached the model. The tiny local model runs the same façade methods end to end at the bottom.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from elixir_coder_lsp.cli import main
from elixir_coder_lsp.commands.batch import parse_line
from elixir_coder_lsp.commands.generate import answers_from, terminal_answer
from tests.e2e.fake_model import FETCH_TUPLE, FakeModelServer

FORCED = "[clarification]\nenabled = true\nsamples = 4\ntemperature = 0.8\nentropyThreshold = 0\nclusterThreshold = 1\n"


@pytest.fixture
def config(tmp_path: Path, fake_model: FakeModelServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A settings file for the fake model with the question forced; the working directory has no workspace file."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal: nobody to ask
    path = tmp_path / "c.toml"
    path.write_text(
        f'[models.default]\nbackend = "openai"\nurl = "{fake_model.url}"\nmaxNewTokens = 256\n'
        f"[generation]\ncandidates = 2\ntemperature = 0.2\nmaxRepairAttempts = 1\n{FORCED}"
    )
    return path


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict]]:
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines() if line.strip()]


def test_generate_needs_an_answer_exit_3_with_the_question(config, capsys, fake_model) -> None:
    seen = len(fake_model.prompts)
    code, (doc,) = run_json(capsys, "generate", "write Users.fetch/2", "--config", str(config), "--json")
    assert code == 3
    assert doc["status"] == "clarification_needed" and doc["code"] == ""
    question = doc["question"]
    assert question["question"].endswith("?") and question["allowFreeText"] is True
    assert len(question["options"]) >= 2 and all(o["label"] for o in question["options"])
    assert len(fake_model.prompts) == seen + 1  # the question's samples, nothing generated


def test_generate_question_is_json_even_without_json_flag(config, capsys) -> None:
    code, (doc,) = run_json(capsys, "generate", "write Users.fetch/2", "--config", str(config))
    assert code == 3 and doc["question"]


def test_generate_answer_reaches_the_model(config, capsys, fake_model) -> None:
    seen = len(fake_model.prompts)
    code, (doc,) = run_json(capsys, "generate", "write Users.fetch/2", "--config", str(config), "--json", "--answer", "raise")
    assert code == 0 and doc["status"] == "generated"
    assert "raise KeyError" in doc["code"]
    later = fake_model.prompts[seen + 1 :]
    assert later and all("Answer: raise" in p for p in later)


def test_generate_no_clarify_never_samples_for_a_question(config, capsys, fake_model) -> None:
    seen = len(fake_model.prompts)
    code, (doc,) = run_json(capsys, "generate", "write Users.fetch/2", "--config", str(config), "--json", "--no-clarify")
    assert code == 0 and doc["status"] == "generated"
    assert len(fake_model.prompts) == seen + 1 and "Answer:" not in fake_model.prompts[-1]


def test_generate_not_clean_is_exit_1(config, capsys, fake_model, monkeypatch) -> None:
    unused = FETCH_TUPLE.replace("    case Map.fetch", "    Enum.map(users, & &1)\n    case Map.fetch")
    monkeypatch.setattr(fake_model, "programs", lambda prompt, n: [unused] * n)
    code, (doc,) = run_json(capsys, "generate", "write Users.fetch/2", "--config", str(config), "--json", "--no-clarify")
    assert code == 1 and doc["status"] == "not_clean"
    assert "Credo.Check.Warning.UnusedEnumOperation" in [f["rule"] for f in doc["findings"]]


def test_generate_usage_errors_are_exit_2(capsys, monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["generate", "-"]) == 2
    assert main(["batch", str(tmp_path / "missing.jsonl")]) == 2


def test_terminal_answer_reads_a_number_free_text_or_enter() -> None:
    question = {"question": "How?", "options": [{"label": "raise"}, {"label": "return {:error, reason}"}], "allowFreeText": True}
    assert terminal_answer(question, lambda _p: "2\n") == "return {:error, reason}"
    assert terminal_answer(question, lambda _p: "log and go on\n") == "log and go on"
    assert terminal_answer(question, lambda _p: "\n") == ""  # just generate

    def eof(_p: str) -> str:
        raise EOFError

    assert terminal_answer(question, eof) is None
    given = answers_from(["first"], interactive=False)
    assert given(question) == "first" and given(question) is None


def test_batch_lines_in_order_with_answers(config, capsys, tmp_path) -> None:
    items = tmp_path / "in.jsonl"
    items.write_text(
        '{"prompt": "write module Alpha with fetch/2"}\n'
        '\n'
        '{"prompt": "write module Beta with fetch/2", "answer": "raise"}\n'
        '"write module Gamma with fetch/2"\n'
        'write module Delta with fetch/2\n'
        '{"answer": "no prompt"}\n'
    )
    code, docs = run_json(capsys, "batch", str(items), "--config", str(config))
    assert code == 3
    assert [d["status"] for d in docs] == ["clarification_needed", "generated", "clarification_needed", "clarification_needed", "failed"]
    assert "defmodule Beta" in docs[1]["code"] and "raise KeyError" in docs[1]["code"]
    assert "line 6" in docs[4]["message"]
    assert all(set(d) >= {"status", "code", "findings", "attempts", "question", "message", "timings"} for d in docs)

    code, docs = run_json(capsys, "batch", str(items), "--config", str(config), "--no-clarify")
    assert [d["status"] for d in docs[:4]] == ["generated"] * 4
    assert [next(n for n in ("Alpha", "Beta", "Gamma", "Delta") if f"defmodule {n}" in d["code"]) for d in docs[:4]] == [
        "Alpha", "Beta", "Gamma", "Delta"
    ]
    assert code == 1  # the bad line failed


def test_parse_line_shapes() -> None:
    assert parse_line('{"prompt": "a", "answer": "b"}') == {"prompt": "a", "answer": "b"}
    assert parse_line('"a"') == {"prompt": "a"}
    assert parse_line("plain words") == {"prompt": "plain words"}
    assert isinstance(parse_line('{"prompt": "a", "answer": 3}'), str)
    assert isinstance(parse_line("[1, 2]"), str)


def test_workspace_settings_file_is_found_from_the_working_directory(tmp_path, capsys, monkeypatch) -> None:
    """No --config: `.elixir-coder.toml` above the working directory applies (here: a bad value, reported)."""
    (tmp_path / ".elixir-coder.toml").write_text('[generation]\ntemperature = "hot"\n')
    sub = tmp_path / "lib"
    sub.mkdir()
    monkeypatch.chdir(sub)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    (sub / "a.ex").write_text("defmodule A do\n  @moduledoc false\nend\n")
    assert main(["check", "a.ex", "--json"]) == 0
    assert "generation.temperature" in capsys.readouterr().err


def test_log_settings_write_the_cli_log_to_a_file(tmp_path, capsys, monkeypatch) -> None:
    log_file = tmp_path / "cli.log"
    (tmp_path / ".elixir-coder.toml").write_text(f'[log]\nlevel = "debug"\nfile = "{log_file}"\n')
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.ex").write_text("defmodule A do\n  @moduledoc false\nend\n")
    try:
        assert main(["check", "a.ex", "--json"]) == 0
        assert log_file.is_file() and f"workspace root: {tmp_path}" in log_file.read_text()
    finally:
        from elixir_coder_lsp import logs

        logs.configure("warning", fmt=logs.CLI_FORMAT)


# -- the façade with the tiny local model -------------------------------------------------------------


def test_generate_batch_and_clarification_with_a_tiny_model(tiny_model_dir, helper) -> None:
    from elixir_coder_lsp.api import ElixirCoder
    from elixir_coder_lsp.config import parse_settings

    settings, errors = parse_settings({
        "models": {"default": {"checkpoint": str(tiny_model_dir), "maxNewTokens": 24}},
        "generation": {"candidates": 2, "temperature": 1.0, "maxRepairAttempts": 1},
        "clarification": {"enabled": True, "samples": 3, "temperature": 0.8},
    })
    assert errors == []
    coder = ElixirCoder(settings, helper=helper)
    try:
        prompts = ["add two numbers", {"prompt": "double a number", "answer": "use *"}, "negate a number"]
        outcomes = coder.generate_batch(prompts, entry_rule="expr_seq", clarify=False)
        assert len(outcomes) == 3
        assert all(o.status in ("generated", "not_clean", "failed") for o in outcomes)
        assert all(o.status != "failed" or o.error_kind == "no_code" for o in outcomes)
        # the ask path on a random model: a question only when its samples are valid and disagree
        asked: list[dict] = []
        outcome = coder.generate_with_clarification("add two numbers", lambda q: asked.append(q) or "", entry_rule="expr_seq")
        assert outcome.status in ("generated", "not_clean", "failed")
        assert all(q["options"] for q in asked)
    finally:
        coder.close()


# -- the façade's ask loop (samples stand in for the model) ------------------------------------------------


def _coder_with(helper, **sections):
    from elixir_coder_lsp.api import ElixirCoder
    from elixir_coder_lsp.config import parse_settings

    settings, errors = parse_settings(sections)
    assert errors == []
    return ElixirCoder(settings, helper=helper)


def _samples(*codes: str) -> list:
    from elixir_coder_lsp.inference.clarification import Sample

    return [Sample(code=c) for c in codes]


def test_at_most_max_questions_each_after_the_answers_so_far(helper, monkeypatch) -> None:
    from elixir_coder_lsp.api import GenerationOutcome
    from tests.e2e.fake_model import FETCH_RAISE

    split = _samples(FETCH_TUPLE, FETCH_RAISE, FETCH_TUPLE, FETCH_RAISE)
    for max_questions, expected_questions in ((2, 2), (1, 1), (0, 0)):
        coder = _coder_with(helper, clarification={"enabled": True, "maxQuestions": max_questions})
        sampled, generated, questions = [], [], []
        monkeypatch.setattr(coder, "clarification_samples", lambda prompt, **kw: sampled.append(prompt) or list(split))
        monkeypatch.setattr(coder, "generate", lambda prompt, **kw: generated.append(prompt) or GenerationOutcome("generated", "code"))
        answers = iter(["raise", "with a KeyError"])
        outcome = coder.generate_with_clarification("fetch a user", lambda q: questions.append(q) or next(answers))
        assert outcome.status == "generated" and len(questions) == expected_questions
        if expected_questions == 2:
            assert "Answer: raise" in sampled[1]  # the second question sees the first answer
            assert "Answer: raise" in generated[0] and "Answer: with a KeyError" in generated[0]
        assert len(sampled) == expected_questions


def test_proceed_reuses_samples_only_when_drawn_with_the_generation_settings(helper, monkeypatch) -> None:
    from elixir_coder_lsp.api import GenerationOutcome

    agree = _samples(FETCH_TUPLE, FETCH_TUPLE)
    for clarification, reused in (
        ({"samples": 2, "temperature": 0.2}, True),
        ({"samples": 2, "temperature": 0.8}, False),
        ({"samples": 3, "temperature": 0.2}, False),
    ):
        coder = _coder_with(helper, generation={"candidates": 2, "temperature": 0.2}, clarification={"enabled": True, **clarification})
        seen = []
        monkeypatch.setattr(coder, "clarification_samples", lambda prompt, **kw: list(agree))
        monkeypatch.setattr(coder, "generate", lambda prompt, **kw: seen.append(kw.get("candidates")) or GenerationOutcome("generated", "c"))
        coder.generate_with_clarification("fetch a user", lambda q: "never asked")
        (candidates,) = seen
        assert (candidates is not None) == reused
        if reused:
            assert [c.code for c in candidates] == [FETCH_TUPLE, FETCH_TUPLE]


def test_progress_is_quiet_when_piped_and_shown_on_a_terminal(capsys) -> None:
    from elixir_coder_lsp.commands.common import Progress

    quiet = Progress(3, "batch")  # stderr is captured here, not a terminal
    quiet.phase("loading model")
    quiet.advance()
    quiet.close()
    assert capsys.readouterr().err == ""
    shown = Progress(3, "batch", enabled=True)
    shown.phase("loading model")
    shown.advance()
    shown.close()
    assert "batch" in capsys.readouterr().err
