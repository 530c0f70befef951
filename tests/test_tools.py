"""Real Credo/Sobelow adapters: JSON parsers on recorded output, detection, and the runners.

Credo and Sobelow are not installed here, so the runner tests put small stand-in executables on
PATH that print the recorded reference output (a double for the outside binary only). The
persistent Credo runner is real Elixir code run by the real `elixir`, with a stand-in `Credo`
module loaded in front of it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import textwrap
import time
from pathlib import Path

import pytest

from elixir_coder_lsp.config import parse_settings
from elixir_coder_lsp.tools import NothingScanned, ToolError
from elixir_coder_lsp.tools.credo import CredoRunner, parse_credo_json
from elixir_coder_lsp.tools.project import ToolSpec, detect_tools, find_project_root, locked_deps
from elixir_coder_lsp.tools.sobelow import SobelowRunner, cwe_for_sobelow_type, parse_sobelow_json

# Recorded Credo 1.7.19 / Sobelow 0.15.0 output (a copy of shared/reference kept with the tests).
REFERENCE = Path(__file__).resolve().parent / "data" / "reference"
CALIBRATION = REFERENCE / "calibration"
needs_reference = pytest.mark.skipif(not REFERENCE.is_dir(), reason="reference outputs not available")
needs_elixir = pytest.mark.skipif(shutil.which("elixir") is None, reason="elixir not installed")


def _ref(name: str) -> str:
    return (REFERENCE / name).read_text(encoding="utf-8")


# --- Credo JSON -----------------------------------------------------------------------------


@needs_reference
def test_credo_reference_sample() -> None:
    found = parse_credo_json(_ref("credo-output-sample.json"))
    assert len(found) == 8
    by_rule = {f.rule: f for f in found}
    io = by_rule["Credo.Check.Warning.IoInspect"]
    assert (io.source, io.severity, io.category, io.priority) == ("credo", "warning", "warning", 12)
    assert (io.line, io.column, io.end_line, io.end_column) == (3, 5, 3, 15)
    assert io.trigger == "IO.inspect" and io.file == "lib/probe.ex"
    assert io.message == "There should be no calls to `IO.inspect/1`."
    assert io.extra == {"scope": "Probe.run"}
    assert by_rule["Credo.Check.Design.AliasUsage"].severity == "hint"  # priority -8
    assert by_rule["Credo.Check.Readability.ModuleDoc"].severity == "information"  # priority 1
    assert [f.line for f in found] == sorted(f.line for f in found)


@needs_reference
def test_credo_every_calibration_file_parses() -> None:
    files = sorted((CALIBRATION / "expected").glob("*.credo.json"))
    assert len(files) == 24
    for path in files:
        text = path.read_text(encoding="utf-8")
        found = parse_credo_json(text)
        raw = json.loads(text)["issues"]
        assert len(found) == len(raw), path.name
        for f in found:
            assert f.source == "credo" and f.rule.startswith("Credo.Check.") and f.line >= 1 and f.column >= 1
            assert f.severity in ("error", "warning", "information", "hint")


@needs_reference
def test_credo_null_column() -> None:
    found = parse_credo_json((CALIBRATION / "expected" / "24_chat_string_sigils.credo.json").read_text())
    assert [(f.line, f.column, f.end_column) for f in found] == [(7, 1, None), (19, 1, None), (27, 1, None)]


def _issue(**over: object) -> dict:
    base = {
        "category": "warning",
        "check": "Credo.Check.Warning.IoInspect",
        "column": 5,
        "column_end": None,
        "filename": "lib/a.ex",
        "line_no": 3,
        "message": "m",
        "priority": 12,
        "scope": None,
        "trigger": "IO.inspect",
    }
    return {**base, **over}


def test_credo_end_column_from_trigger_and_no_trigger() -> None:
    text = json.dumps({"issues": [_issue(), _issue(line_no=4, trigger=["__no_trigger__"]), _issue(line_no=5, trigger="__no_trigger__")]})
    a, b, c = parse_credo_json(text, source_file="/abs/lib/a.ex")
    assert (a.end_column, a.trigger, a.file) == (15, "IO.inspect", "/abs/lib/a.ex")
    assert (b.end_column, b.trigger) == (None, None)
    assert c.trigger is None


def test_credo_severity_follows_settings_thresholds() -> None:
    settings, _ = parse_settings({"checks": {"severity": {"credoError": 12, "credoWarning": 5, "credoInformation": 0}}})
    text = json.dumps({"issues": [_issue(priority=12), _issue(priority=-3)]})
    assert [f.severity for f in parse_credo_json(text, settings=settings)] == ["error", "hint"]


def test_credo_json_after_banner() -> None:
    text = "Compiling 3 files (.ex)\nwarning: something {odd}\n" + json.dumps({"issues": [_issue()]}) + "\n"
    assert len(parse_credo_json(text)) == 1


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "printed nothing"),
        ("** (Mix) The task \"credo\" could not be found", "no JSON object"),
        ('{"issues": {}}', '"issues" is not a list'),
        (json.dumps({"issues": [_issue(line_no=None)]}), "lacks check, message or line_no"),
        (json.dumps({"issues": ["x"]}), "not an object"),
        ('{"issues": [', "no JSON object"),
    ],
)
def test_credo_malformed_output_is_a_tool_error(text: str, needle: str) -> None:
    with pytest.raises(ToolError, match=None) as info:
        parse_credo_json(text)
    assert needle in str(info.value)


# --- Sobelow JSON ---------------------------------------------------------------------------


@needs_reference
def test_sobelow_reference_sample() -> None:
    found = parse_sobelow_json(_ref("sobelow-output-sample.json"), root="/proj")
    assert len(found) == 5
    by_rule = {f.rule: f for f in found}
    b2t = by_rule["Sobelow.Misc.BinToTerm"]
    assert (b2t.source, b2t.severity, b2t.confidence, b2t.cwe, b2t.line) == ("sobelow", "error", "high", 502, 14)
    assert b2t.file == "/proj/lib/probe.ex"
    assert b2t.message == "Unsafe `binary_to_term` (variable `params`)"
    atom = by_rule["Sobelow.DOS.StringToAtom"]
    assert (atom.severity, atom.confidence, atom.cwe) == ("information", "low", 770)
    assert by_rule["Sobelow.SQL.Query"].cwe == 89
    assert by_rule["Sobelow.RCE.CodeModule"].cwe == 94
    assert by_rule["Sobelow.Traversal.FileModule"].cwe == 22
    assert b2t.extra["sobelow_type"] == "Misc.BinToTerm: Unsafe `binary_to_term`"
    assert parse_sobelow_json(_ref("sobelow-output-sample.json"))[0].file == "lib/probe.ex"


@needs_reference
def test_sobelow_every_calibration_file_parses() -> None:
    files = sorted((CALIBRATION / "expected").glob("*.sobelow.json")) + sorted((CALIBRATION / "extra").glob("*.json"))
    assert len(files) == 25
    for path in files:
        text = path.read_text(encoding="utf-8")
        found = parse_sobelow_json(text)
        assert len(found) == json.loads(text)["total_findings"], path.name
        assert all(f.cwe is not None and f.rule.startswith("Sobelow.") for f in found)


@needs_reference
def test_sobelow_confidences_of_controller_file() -> None:
    found = parse_sobelow_json((CALIBRATION / "expected" / "20_payments_refund_controller.sobelow.json").read_text())
    assert sorted({(f.confidence, f.severity) for f in found}) == [("high", "error"), ("medium", "warning")]
    ci = next(f for f in found if f.rule == "Sobelow.CI.System")
    assert ci.cwe == 78 and ci.message == "Command Injection via `System` function (variable `tool`)"


def test_sobelow_banner_and_unescaped_quotes() -> None:
    # Sobelow writes JSON by hand: a variable holding a quote is not escaped.
    text = textwrap.dedent(
        """\
        WARNING: Sobelow cannot find the router. If this is a Phoenix application
        please use the `--router` flag to specify the router's location.
        {
          "findings": {
            "high_confidence": [
              {
                "type": "Config.Secrets: Hardcoded Secret",
                "file": "config/prod.exs",
                "line": 9,
                "key": "secret_key_base"
              }
            ],
            "medium_confidence": [
              {
                "type": "XSS.Raw: XSS",
                "file": "lib/web/page.ex",
                "line": 0,
                "variable": "params["name"]"
              }
            ],
            "low_confidence": []
          },
          "total_findings": 2,
          "sobelow_version": "0.15.0"
        }
        """
    )
    secret, xss = parse_sobelow_json(text)
    assert (secret.rule, secret.cwe, secret.message) == ("Sobelow.Config.Secrets", 798, "Hardcoded Secret (key `secret_key_base`)")
    assert (xss.rule, xss.cwe, xss.line) == ("Sobelow.XSS.Raw", 79, 1)
    assert xss.message == 'XSS (variable `params["name"]`)'


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "printed nothing"),
        ("not json at all", "no JSON object"),
        ('{"findings": []}', '"findings" is not an object'),
        ('{"findings": {"high_confidence": {}}}', "high_confidence is not a list"),
        ('{"findings": {"low_confidence": [{"file": "x"}]}}', "without a type"),
    ],
)
def test_sobelow_malformed_output_is_a_tool_error(text: str, needle: str) -> None:
    with pytest.raises(ToolError) as info:
        parse_sobelow_json(text)
    assert needle in str(info.value)


def test_sobelow_cwe_table() -> None:
    assert cwe_for_sobelow_type("DOS.ListToAtom") == 770
    assert cwe_for_sobelow_type("Config.CSRF") == 352
    assert cwe_for_sobelow_type("RCE.EEx") == 1336
    assert cwe_for_sobelow_type("SQL.SomethingNew") == 89  # group fallback
    assert cwe_for_sobelow_type("Vuln.Ecto") == 1395
    assert cwe_for_sobelow_type("Brand.New") is None


# --- stand-in executables -------------------------------------------------------------------


def _script(bin_dir: Path, name: str, body: str) -> Path:
    """A Python executable named ``name`` in ``bin_dir``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / name
    path.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body), encoding="utf-8")
    path.chmod(0o755)
    return path


FAKE_CREDO = """\
import json, os, sys, time
args = sys.argv[1:]
if args and args[0] == "credo":  # called as `mix credo ...`
    args = args[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({"argv": args, "cwd": os.getcwd()}) + "\\n")
src = sys.stdin.read()
mode = os.environ.get("FAKE_CREDO_MODE", "ok")
if mode == "sleep":
    time.sleep(30)
if mode == "garbage":
    print("** (Mix) Could not compile dependency :credo", file=sys.stderr)
    sys.exit(1)
assert args[:4] == ["--read-from-stdin", "--format", "json", "--strict"], args
assert "IO.inspect" in src
print("Checking 1 source file ...")
print(open(os.environ["FAKE_OUTPUT"]).read())
sys.exit(16)  # Credo: a bitmask of categories with issues, not a failure
"""

FAKE_SOBELOW = """\
import json, os, sys
args = sys.argv[1:]
if args and args[0] == "sobelow":
    args = args[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({"argv": args, "cwd": os.getcwd()}) + "\\n")
root = args[args.index("--root") + 1] if "--root" in args else "."
assert {"--format", "json", "--private", "--skip"} <= set(args), args
print("WARNING: Sobelow cannot find the router.")
out = open(os.environ["FAKE_OUTPUT"]).read()
lib = os.listdir(os.path.join(root, "lib"))
print(out.replace("lib/probe.ex", "lib/" + lib[0]))
"""


@pytest.fixture
def fake_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_LOG", str(log))
    return {"bin": bin_dir, "log": log}


def _calls(env: dict) -> list[dict]:
    if not env["log"].exists():
        return []
    return [json.loads(line) for line in env["log"].read_text().splitlines()]


def _project(root: Path, *, lock: str = "", deps: tuple[str, ...] = (), lib: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "mix.exs").write_text("defmodule P.MixProject do\n  use Mix.Project\n  def project, do: [app: :p]\nend\n")
    if lock:
        (root / "mix.lock").write_text(lock)
    for dep in deps:
        (root / "deps" / dep).mkdir(parents=True)
    if lib:
        (root / "lib").mkdir(exist_ok=True)
        (root / "lib" / "probe.ex").write_text(_ref("probe.ex") if REFERENCE.is_dir() else "defmodule Probe do\nend\n")
    return root


LOCK = '%{\n  "bunt": {:hex, :bunt, "1.0.0", "x", [:mix], [], "hexpm", "y"},\n  "credo": {:hex, :credo, "1.7.19", "x", [:mix], [], "hexpm", "y"},\n  "sobelow": {:hex, :sobelow, "0.15.0", "x", [:mix], [], "hexpm", "y"},\n}\n'


# --- detection ------------------------------------------------------------------------------


def test_find_project_root(tmp_path: Path) -> None:
    root = _project(tmp_path / "app")
    nested = root / "lib" / "deep" / "x.ex"
    nested.parent.mkdir(parents=True)
    nested.write_text("")
    assert find_project_root(nested) == root.resolve()
    assert find_project_root(root / "lib" / "not_yet_saved.ex") == root.resolve()
    assert find_project_root(tmp_path / "elsewhere") is None or find_project_root(tmp_path / "elsewhere") != root


def test_locked_deps_and_umbrella(tmp_path: Path) -> None:
    umbrella = _project(tmp_path / "umb", lock=LOCK, lib=False)
    child = _project(umbrella / "apps" / "web", lib=False)
    assert {"credo", "sobelow", "bunt"} <= locked_deps(umbrella)
    assert "credo" in locked_deps(child)


def _settings(**checks: object) -> object:
    trusted = checks.pop("trusted", False)
    settings, errors = parse_settings({"trustedWorkspace": trusted, "checks": checks})
    assert errors == []
    return settings


def test_detect_mix_when_trusted(tmp_path: Path) -> None:
    root = _project(tmp_path / "app", lock=LOCK, deps=("credo", "sobelow"))
    bin_dir = tmp_path / "bin"
    _script(bin_dir, "mix", "")
    avail = detect_tools(root, _settings(trusted=True), search_path=str(bin_dir), env={})
    assert avail.credo == ToolSpec("mix", ["mix", "credo"], "credo from the project's mix.lock")
    assert avail.sobelow is not None and avail.sobelow.command == ["mix", "sobelow"]
    assert avail.errors == []


def test_detect_untrusted_workspace_does_not_use_mix(tmp_path: Path) -> None:
    root = _project(tmp_path / "app", lock=LOCK, deps=("credo", "sobelow"))
    bin_dir = tmp_path / "bin"
    _script(bin_dir, "mix", "")
    avail = detect_tools(root, _settings(trusted=False), search_path=str(bin_dir), env={})
    assert avail.credo is None and avail.sobelow is None
    assert "not trusted" in avail.credo_reason and "not trusted" in avail.sobelow_reason
    assert avail.errors == []  # auto: fall back to built-in rules quietly


def test_detect_escript_needs_no_trust_but_sobelow_needs_mix_exs(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    credo = _script(bin_dir, "credo", "")
    sobelow = _script(bin_dir, "sobelow", "")
    root = _project(tmp_path / "app", lock=LOCK)
    avail = detect_tools(root, _settings(), search_path=str(bin_dir), env={})
    assert avail.credo == ToolSpec("escript", [str(credo)], f"credo escript at {credo}")
    assert avail.sobelow is not None and avail.sobelow.command == [str(sobelow)]
    bare = tmp_path / "loose"
    bare.mkdir()
    avail = detect_tools(bare, _settings(), search_path=str(bin_dir), env={})
    assert avail.credo is not None and avail.credo.kind == "escript"
    assert avail.sobelow is None and "needs a mix.exs" in avail.sobelow_reason


def test_detect_deps_not_fetched(tmp_path: Path) -> None:
    root = _project(tmp_path / "app", lock=LOCK)
    bin_dir = tmp_path / "bin"
    _script(bin_dir, "mix", "")
    avail = detect_tools(root, _settings(trusted=True), search_path=str(bin_dir), env={})
    assert avail.credo is None and "mix deps.get" in avail.credo_reason


def test_detect_modes_off_builtin_real(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    _script(bin_dir, "credo", "")
    _script(bin_dir, "sobelow", "")
    root = _project(tmp_path / "app")
    avail = detect_tools(root, _settings(credo="off", sobelow="builtin"), search_path=str(bin_dir), env={})
    assert (avail.credo, avail.sobelow) == (None, None)
    assert avail.credo_reason == "checks.credo is off" and avail.sobelow_reason == "checks.sobelow is builtin"
    avail = detect_tools(root, _settings(credo="real", sobelow="real"), search_path=str(bin_dir), env={})
    assert avail.credo is not None and avail.sobelow is not None and avail.errors == []


def test_detect_real_mode_unavailable_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    root = _project(tmp_path / "app", lock=LOCK, deps=("credo",))
    avail = detect_tools(root, _settings(credo="real", sobelow="auto"), search_path=str(empty), env={})
    assert avail.credo is None and avail.sobelow is None
    assert len(avail.errors) == 1
    assert avail.errors[0].startswith('checks.credo is "real" but Credo cannot run: ')
    assert "not trusted" in avail.errors[0]
    avail = detect_tools(tmp_path / "app", _settings(credo="auto"), search_path=str(empty), env={})
    assert avail.errors == []


# --- Credo runner ---------------------------------------------------------------------------


@needs_reference
def test_credo_escript_runner(tmp_path: Path, fake_env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_OUTPUT", str(REFERENCE / "credo-output-sample.json"))
    exe = _script(fake_env["bin"], "credo", FAKE_CREDO)
    root = _project(tmp_path / "app")
    code = _ref("probe.ex")
    with CredoRunner(root, ToolSpec("escript", [str(exe)])) as runner:
        found = runner.check(code, str(root / "lib" / "probe.ex"))
    assert len(found) == 8
    assert {f.file for f in found} == {str(root / "lib" / "probe.ex")}
    (call,) = _calls(fake_env)
    assert call["argv"] == ["--read-from-stdin", "--format", "json", "--strict", "lib/probe.ex"]
    assert Path(call["cwd"]).resolve() == root.resolve()


@needs_reference
def test_credo_tool_failure_and_timeout(tmp_path: Path, fake_env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_OUTPUT", str(REFERENCE / "credo-output-sample.json"))
    exe = _script(fake_env["bin"], "credo", FAKE_CREDO)
    root = _project(tmp_path / "app")
    runner = CredoRunner(root, ToolSpec("escript", [str(exe)]))
    monkeypatch.setenv("FAKE_CREDO_MODE", "garbage")
    with pytest.raises(ToolError, match="Could not compile dependency :credo"):
        runner.check("IO.inspect(1)", "lib/a.ex")
    monkeypatch.setenv("FAKE_CREDO_MODE", "sleep")
    started = time.monotonic()
    with pytest.raises(ToolError, match="did not finish within 0.5s"):
        runner.check("IO.inspect(1)", "lib/a.ex", timeout=0.5)
    assert time.monotonic() - started < 10


@needs_reference
def test_credo_mix_falls_back_to_cli_when_runner_cannot_start(tmp_path: Path, fake_env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_OUTPUT", str(REFERENCE / "credo-output-sample.json"))
    _script(
        fake_env["bin"],
        "mix",
        "import sys\nif sys.argv[1] == 'run':\n    print('** (Mix) Could not find an SCM for dependency :credo', file=sys.stderr)\n    sys.exit(1)\n"
        + FAKE_CREDO,
    )
    root = _project(tmp_path / "app")
    runner = CredoRunner(root, ToolSpec("mix", ["mix", "credo"]))
    found = runner.check(_ref("probe.ex"), "lib/probe.ex")
    assert len(found) == 8
    assert "Could not find an SCM" in (runner.persistent_error or "")
    assert _calls(fake_env)[-1]["argv"][-1] == "lib/probe.ex"
    runner.close()


# A stand-in for the Credo library (not the runner): Credo.run/1 reads the buffer from :stdio the
# way Credo's --read-from-stdin does and reports each `IO.inspect`.
FAKE_CREDO_LIB = r'''
defmodule Credo.Issue do
  defstruct check: nil, category: nil, priority: 0, message: nil, filename: nil, line_no: nil,
            column: nil, trigger: nil, scope: nil
end

defmodule Credo.Execution do
  defstruct issues: []
  def get_issues(%__MODULE__{issues: issues}), do: issues
end

defmodule Credo do
  def run(argv) do
    filename = List.last(argv)
    source = read_all("")
    if String.contains?(source, "CRASH_CREDO"), do: raise("fake crash")
    if String.contains?(source, "SLEEP_CREDO"), do: Process.sleep(30_000)
    IO.puts(:user, "Checking 1 source file ...")
    issues =
      source
      |> String.split("\n")
      |> Enum.with_index(1)
      |> Enum.flat_map(fn {line, n} ->
        case :binary.match(line, "IO.inspect") do
          {col, _} ->
            [%Credo.Issue{check: Credo.Check.Warning.IoInspect, category: :warning, priority: 12,
              message: "There should be no calls to `IO.inspect/1` (é)", filename: filename,
              line_no: n, column: col + 1, trigger: "IO.inspect", scope: "M.f"}]
          :nomatch -> []
        end
      end)
    no_trigger = %Credo.Issue{check: Credo.Check.Readability.ModuleDoc, category: :readability,
      priority: -1, message: "Modules should have a @moduledoc tag.", filename: filename,
      line_no: 1, trigger: [:__no_trigger__]}
    %Credo.Execution{issues: issues ++ [no_trigger]}
  end

  defp read_all(acc) do
    case IO.read(:stdio, :line) do
      :eof -> acc
      {:error, _} -> acc
      data -> read_all(acc <> data)
    end
  end
end
'''


def fake_credo_mix(fake_env: dict, tmp_path: Path) -> None:
    """A `mix` on the fake PATH that logs its call and runs `mix run --no-start --no-compile RUNNER` as the
    real runner script under the real elixir, with FAKE_CREDO_LIB standing in for Credo."""
    lib = tmp_path / "fake_credo_lib.exs"
    lib.write_text(FAKE_CREDO_LIB)
    _script(
        fake_env["bin"],
        "mix",
        f"""\
        import os, sys, json
        with open(os.environ["FAKE_LOG"], "a") as log:
            log.write(json.dumps({{"argv": sys.argv[1:], "cwd": os.getcwd()}}) + "\\n")
        assert sys.argv[1:4] == ["run", "--no-start", "--no-compile"], sys.argv
        os.execvp("elixir", ["elixir", "-r", {str(lib)!r}, sys.argv[4]])
        """,
    )


@needs_elixir
def test_persistent_credo_runner(tmp_path: Path, fake_env: dict) -> None:
    fake_credo_mix(fake_env, tmp_path)
    root = _project(tmp_path / "app", lib=False)
    runner = CredoRunner(root, ToolSpec("mix", ["mix", "credo"]), startup_timeout=60)
    try:
        code = "defmodule A do\n  def f(x) do\n    IO.inspect(x)\n  end\nend\n"
        first = runner.check(code, str(root / "lib" / "a.ex"))
        assert [(f.rule, f.line, f.column, f.end_column, f.severity) for f in first] == [
            ("Credo.Check.Readability.ModuleDoc", 1, 1, None, "hint"),
            ("Credo.Check.Warning.IoInspect", 3, 5, 15, "warning"),
        ]
        assert first[1].message == "There should be no calls to `IO.inspect/1` (é)"
        assert first[0].trigger is None and first[1].file == str(root / "lib" / "a.ex")
        pid = runner._runner.proc.pid  # noqa: SLF001 - the same node must answer every request
        with pytest.raises(ToolError, match="Credo failed: fake crash"):
            runner.check("CRASH_CREDO", "lib/b.ex")
        second = runner.check("x = 1\nIO.inspect(x)\nIO.inspect(x)\n", "lib/b.ex")
        assert [f.line for f in second if f.rule.endswith("IoInspect")] == [2, 3]
        assert runner._runner.proc.pid == pid  # noqa: SLF001
        assert len(_calls(fake_env)) == 1
        # A request that hangs kills the node; the next check starts a fresh one.
        with pytest.raises(ToolError, match="did not answer in time"):
            runner.check("SLEEP_CREDO", "lib/c.ex", timeout=1.0)
        assert len(runner.check("IO.inspect(1)\n", "lib/d.ex")) == 2
        assert len(_calls(fake_env)) == 2
        proc = runner._runner.proc  # noqa: SLF001
    finally:
        runner.close()
    assert proc.poll() is not None


# --- Sobelow runner -------------------------------------------------------------------------


@needs_reference
def test_sobelow_escript_project_scan(tmp_path: Path, fake_env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_OUTPUT", str(REFERENCE / "sobelow-output-sample.json"))
    exe = _script(fake_env["bin"], "sobelow", FAKE_SOBELOW)
    root = _project(tmp_path / "app")
    found = SobelowRunner(root, ToolSpec("escript", [str(exe)])).check_project()
    assert len(found) == 5
    assert {f.file for f in found} == {str(root / "lib" / "probe.ex")}
    (call,) = _calls(fake_env)
    assert call["argv"] == ["--root", str(root), "--format", "json", "--private", "--skip"]


@needs_reference
def test_sobelow_mix_scan_and_buffer_scan(tmp_path: Path, fake_env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_OUTPUT", str(REFERENCE / "sobelow-output-sample.json"))
    _script(fake_env["bin"], "mix", FAKE_SOBELOW)
    root = _project(tmp_path / "app")
    runner = SobelowRunner(root, ToolSpec("mix", ["mix", "sobelow"]))
    assert len(runner.check_project()) == 5
    assert _calls(fake_env)[-1]["argv"] == ["--format", "json", "--private", "--skip"]
    found = runner.check_code(_ref("probe.ex"), "/src/app/lib/refunds.ex")
    assert len(found) == 5 and {f.file for f in found} == {"/src/app/lib/refunds.ex"}
    call = _calls(fake_env)[-1]
    assert call["argv"][0] == "--root" and call["argv"][1] != str(root)
    assert not Path(call["argv"][1]).exists()  # the scratch project is removed


def test_sobelow_needs_mix_exs_and_sources(tmp_path: Path, fake_env: dict) -> None:
    exe = _script(fake_env["bin"], "sobelow", FAKE_SOBELOW)
    loose = tmp_path / "loose"
    loose.mkdir()
    with pytest.raises(ToolError, match="Sobelow needs a mix.exs at the project root; it scans nothing without one"):
        SobelowRunner(loose, ToolSpec("escript", [str(exe)])).check_project()
    empty = _project(tmp_path / "empty", lib=False)
    with pytest.raises(NothingScanned, match="scanned nothing"):
        SobelowRunner(empty, ToolSpec("escript", [str(exe)])).check_project()
    assert _calls(fake_env) == []


@needs_reference
def test_sobelow_garbage_output(tmp_path: Path, fake_env: dict) -> None:
    exe = _script(fake_env["bin"], "sobelow", "import sys\nprint('** (Mix) boom', file=sys.stderr)\nsys.exit(1)\n")
    root = _project(tmp_path / "app")
    with pytest.raises(ToolError, match=r"printed nothing \(exit status 1\): \*\* \(Mix\) boom"):
        SobelowRunner(root, ToolSpec("escript", [str(exe)])).check_project()
