"""Built-in Sobelow-mirroring rules, run through the real Elixir helper's `check` op.

The calibration set (shared/reference) pins our findings to Sobelow 0.15.0's own output; the
snippet tests pin ranges, confidence logic, skips, config secrets and autofixes.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from elixir_coder_lsp.rules import catalogue, cwe, sobelow_docs

REFERENCE = Path(__file__).resolve().parent / "data" / "reference"  # a copy of shared/reference
CALIBRATION = REFERENCE / "calibration"
RULES_DIR = Path(__file__).resolve().parents[1] / "elixir_coder_lsp" / "elixir" / "rules"

pytestmark = pytest.mark.skipif(not CALIBRATION.is_dir(), reason="shared/reference is not present")


def check(helper: Any, code: str, filename: str | None = "lib/example.ex") -> list[dict[str, Any]]:
    args: dict[str, Any] = {"code": code, "sets": ["sobelow"]}
    if filename is not None:
        args["filename"] = filename
    result = helper.request("check", args)
    assert result["syntax_error"] is None
    return [f for f in result["findings"] if f["rule"].startswith("Sobelow.")]


def key(f: dict[str, Any]) -> tuple[str, int, str, str | None]:
    return (f["rule"], f["line"], f["confidence"], f["variable"])


def expected_keys(report: Path) -> Counter:
    data = json.loads(report.read_text())
    out: Counter = Counter()
    for level, findings in data["findings"].items():
        confidence = level.removesuffix("_confidence")
        for f in findings:
            rule = "Sobelow." + f["type"].split(":", 1)[0]
            out[(rule, f["line"], confidence, f.get("variable"))] += 1
    return out


def ranges(findings: list[dict[str, Any]]) -> list[tuple[str, int, int, int, int]]:
    return [(f["rule"], f["line"], f["column"], f["end_line"], f["end_column"]) for f in findings]


# ------------------------------------------------------------------------------ calibration

CALIBRATION_FILES = sorted((CALIBRATION / "src").glob("*.ex"))


@pytest.mark.parametrize("src", CALIBRATION_FILES, ids=lambda p: p.stem)
def test_calibration_matches_sobelow(helper: Any, src: Path) -> None:
    # Our runner always passes --skip, so the --skip output is the reference where there is one.
    skip_flag = CALIBRATION / "extra" / f"{src.stem}.sobelow.skip-flag.json"
    report = skip_flag if skip_flag.exists() else CALIBRATION / "expected" / f"{src.stem}.sobelow.json"
    got = Counter(key(f) for f in check(helper, src.read_text(), f"lib/{src.name}"))
    assert got == expected_keys(report)


def test_probe_sample_matches_sobelow(helper: Any) -> None:
    got = Counter(key(f) for f in check(helper, (REFERENCE / "probe.ex").read_text(), "lib/probe.ex"))
    assert got == expected_keys(REFERENCE / "sobelow-output-sample.json")


def test_calibration_messages_are_sobelows(helper: Any) -> None:
    src = CALIBRATION / "src" / "20_payments_refund_controller.ex"
    messages = {(f["rule"], f["line"]): f["message"] for f in check(helper, src.read_text())}
    data = json.loads((CALIBRATION / "expected" / f"{src.stem}.sobelow.json").read_text())
    for findings in data["findings"].values():
        for f in findings:
            rule, text = f["type"].split(": ", 1)
            assert messages[("Sobelow." + rule, f["line"])] == text


# ------------------------------------------------------------------------------ ranges, firing

PLAIN = '''defmodule Demo.Atoms do
  def a(name), do: String.to_atom(name)
  def b(name), do: name |> String.trim() |> String.to_atom()
  def c(names), do: Enum.map(names, &String.to_atom/1)
  def d(id), do: :"user_#{id}"
  def e(blob), do: :erlang.binary_to_term(blob)
  def f(chars), do: List.to_atom(chars)
  def g(cmd), do: :os.cmd(cmd)
end
'''


def source_text(code: str, f: dict[str, Any]) -> str:
    assert f["line"] == f["end_line"]
    return code.split("\n")[f["line"] - 1][f["column"] - 1 : f["end_column"] - 1]


def test_ranges_cover_the_call(helper: Any) -> None:
    found = check(helper, PLAIN)
    assert [(f["rule"], f["line"], source_text(PLAIN, f)) for f in found] == [
        ("Sobelow.DOS.StringToAtom", 2, "String.to_atom(name)"),
        ("Sobelow.DOS.StringToAtom", 3, "String.to_atom()"),  # the pipe's right-hand side
        ("Sobelow.DOS.StringToAtom", 4, "&String.to_atom/1"),
        ("Sobelow.DOS.BinToAtom", 5, ':"user_#{id}"'),
        ("Sobelow.Misc.BinToTerm", 6, ":erlang.binary_to_term(blob)"),
        ("Sobelow.DOS.ListToAtom", 7, "List.to_atom(chars)"),
        ("Sobelow.CI.OS", 8, ":os.cmd(cmd)"),
    ]
    assert ranges(found)[0] == ("Sobelow.DOS.StringToAtom", 2, 20, 2, 40)
    variables = [(f["rule"].split(".")[-1], f["confidence"], f["variable"]) for f in found]
    assert variables == [
        ("StringToAtom", "low", "name"),
        ("StringToAtom", "low", "Elixir.String"),  # the previous pipe stage, as Sobelow reports it
        ("StringToAtom", "low", "&1"),
        ("BinToAtom", "low", "id"),
        ("BinToTerm", "high", "blob"),  # always high
        ("ListToAtom", "low", "chars"),
        ("OS", "low", "cmd"),
    ]
    assert all(f["category"] == "security" for f in found)


def test_literal_and_attribute_arguments_do_not_fire(helper: Any) -> None:
    code = '''defmodule DemoWeb.SafeController do
  use DemoWeb, :controller
  @dir "priv/static"

  def a(conn, _), do: json(conn, %{k: String.to_atom("fixed")})
  def b(conn, _), do: json(conn, %{b: File.read!(@dir)})
  def c(conn, %{"f" => f}), do: text(conn, elem(System.cmd("ls", [f]), 0))
  def d(conn, %{"q" => q}), do: json(conn, Repo.query!("SELECT 1 WHERE a = $1", [q]))
  def e(conn, %{"k" => k}), do: json(conn, %{k: String.to_existing_atom(k)})
  def f(conn, _), do: send_download(conn, {:binary, conn.assigns.data}, filename: "x.csv")
end
'''
    assert check(helper, code) == []


def test_only_def_and_defp_bodies_are_scanned(helper: Any) -> None:
    # Sobelow looks inside def/defp only: module bodies and macros are not scanned.
    code = '''defmodule Demo.Scope do
  for name <- ~w(a b), do: String.to_atom(name)
  defmacro atomize(x), do: quote(do: String.to_atom(unquote(x)))
  defp atomize!(x), do: String.to_atom(x)
end
'''
    assert [(f["rule"], f["line"]) for f in check(helper, code)] == [("Sobelow.DOS.StringToAtom", 4)]


@pytest.mark.parametrize(
    ("filename", "scanned"),
    [("lib/demo/scope.ex", True), (None, True), ("test/demo_test.exs", False), ("lib/mix/tasks/demo.ex", False)],
)
def test_files_sobelow_does_not_scan(helper: Any, filename: str | None, scanned: bool) -> None:
    # Sobelow reads lib/**/*.ex minus mix/tasks; scripts and tests get no function findings.
    code = "defmodule Demo.T do\n  def a(x), do: String.to_atom(x)\nend\n"
    assert bool(check(helper, code, filename)) is scanned


CONTROLLER = '''defmodule ShopWeb.ItemController do
  use ShopWeb, :controller

  def show(conn, %{"id" => id} = params) do
    sql = "SELECT * FROM items WHERE id = #{id}"
    Repo.query!(sql)
    File.read!("items/" <> params["file"])
    local = params["name"]
    File.write!(local, "x")
    send_file(conn, 200, conn.params["path"])
  end
end
'''


def test_controller_confidence(helper: Any) -> None:
    got = sorted(key(f) for f in check(helper, CONTROLLER))
    assert got == [
        ("Sobelow.SQL.Query", 6, "medium", "sql"),  # a local variable, not an argument
        ("Sobelow.Traversal.FileModule", 7, "high", "params"),  # argument of the action
        ("Sobelow.Traversal.FileModule", 9, "medium", "local"),
        ("Sobelow.Traversal.SendFile", 10, "high", "conn.params"),
    ]


def test_only_use_with_controller_atom_makes_a_controller(helper: Any) -> None:
    code = CONTROLLER.replace("use ShopWeb, :controller", "use Phoenix.Controller, namespace: ShopWeb")
    assert {f["confidence"] for f in check(helper, code)} == {"low"}


def test_send_resp_rated_by_content_type(helper: Any) -> None:
    code = '''defmodule Demo.Plug do
  import Plug.Conn
  def html(conn, body), do: conn |> put_resp_content_type("text/html") |> send_resp(200, body)
  def json(conn, body), do: conn |> put_resp_content_type("application/json") |> send_resp(200, body)
  def plain(conn, body), do: send_resp(conn, 200, body)
  def local(conn) do
    body = conn.assigns.body
    send_resp(conn, 200, body)
  end
  def dynamic(conn, type, body), do: conn |> put_resp_content_type(type) |> send_resp(200, body)
end
'''
    got = [key(f) for f in check(helper, code)]
    assert got == [
        ("Sobelow.XSS.SendResp", 3, "high", "body"),
        ("Sobelow.XSS.SendResp", 5, "high", "body"),
        ("Sobelow.XSS.SendResp", 8, "medium", "body"),
        ("Sobelow.XSS.ContentType", 10, "low", "type"),
        ("Sobelow.XSS.SendResp", 10, "low", "body"),
    ]


def test_raw_only_outside_controllers(helper: Any) -> None:
    view = '''defmodule DemoWeb.PageView do
  def bio(user), do: Phoenix.HTML.raw(user.bio)
  def title(t), do: raw(t)
  def fixed, do: raw("<br>")
end
'''
    assert [key(f) for f in check(helper, view)] == [
        ("Sobelow.XSS.Raw", 2, "low", "user"),
        ("Sobelow.XSS.Raw", 3, "low", "t"),
    ]
    controller = view.replace("  def bio", "  use DemoWeb, :controller\n  def bio")
    assert check(helper, controller) == []


def test_other_checks_fire(helper: Any) -> None:
    code = '''defmodule Demo.Ops do
  alias Ecto.Adapters.SQL
  def a(t), do: EEx.eval_string(t)
  def b(c), do: System.shell(c)
  def c(q), do: SQL.stream(Repo, "SELECT #{q}", [])
  def d(src, dst), do: File.cp!(src, dst)
  def e(conn, p), do: Phoenix.Controller.send_download(conn, {:file, p})
  def f(f), do: Code.eval_file(f)
  def g(x), do: :erlang.binary_to_atom(x, :utf8)
  def h(conn, name), do: html(conn, "<p>#{name}</p>")
end
'''
    got = sorted((f["line"], f["rule"], f["variable"], f["message"]) for f in check(helper, code))
    assert got == sorted((line, rule, var, msg) for rule, line, var, msg in [
        ("Sobelow.RCE.EEx", 3, "t", "Code Execution in `EEx.eval_string`"),
        ("Sobelow.CI.System", 4, "c", "Command Injection via `System` function"),
        ("Sobelow.SQL.Stream", 5, "q", "SQL injection"),
        ("Sobelow.Traversal.FileModule", 6, "dst", "Directory Traversal in `File.cp!`"),
        ("Sobelow.Traversal.FileModule", 6, "src", "Directory Traversal in `File.cp!`"),
        ("Sobelow.Traversal.SendDownload", 7, "p", "Directory Traversal in `send_download`"),
        ("Sobelow.RCE.CodeModule", 8, "f", "Code Execution in `Code.eval_file`"),
        ("Sobelow.DOS.BinToAtom", 9, "x", "Unsafe atom interpolation"),
        ("Sobelow.XSS.HTML", 10, "name", "XSS in `html`"),
    ])


# ------------------------------------------------------------------------------ config secrets

CONFIG = '''import Config

config :shop, ShopWeb.Endpoint,
  secret_key_base: "9xQb1kT7c2",
  live_view: [signing_salt: "abc"]

config :shop, Shop.Repo,
  password: "hunter2",
  username: "shop"

config :shop, Shop.Mailer, api_secret: System.fetch_env!("MAIL_SECRET"), smtp_password: "${SMTP_PASSWORD}"
'''


def test_config_secrets_in_prod_config(helper: Any) -> None:
    found = check(helper, CONFIG, "config/prod.exs")
    assert [(f["rule"], f["line"], f["confidence"], f["trigger"]) for f in found] == [
        ("Sobelow.Config.Secrets", 4, "high", "secret_key_base"),
        ("Sobelow.Config.Secrets", 8, "high", "password"),
    ]
    assert source_text(CONFIG, found[1]) == '"hunter2"'
    assert source_text(CONFIG, found[0]) == '"9xQb1kT7c2"'


def test_config_secrets_file_rules(helper: Any) -> None:
    # secret_key_base is allowed in config.exs; dev/test configs are not scanned
    assert [f["line"] for f in check(helper, CONFIG, "config/config.exs")] == [8]
    assert check(helper, CONFIG, "config/dev.exs") == []
    assert check(helper, CONFIG, "config/test.exs") == []
    # an unnamed buffer that imports Config is treated as a config file
    assert len(check(helper, CONFIG, None)) == 2


def test_module_attribute_secrets(helper: Any) -> None:
    code = '''defmodule Demo.Client do
  @api_secret "sk_live_123"
  @timeout 5_000
  @db_password System.get_env("DB_PASSWORD")
  def secret, do: @api_secret
end
'''
    found = check(helper, code)
    assert [(f["line"], source_text(code, f)) for f in found] == [(2, '"sk_live_123"')]
    off = helper.request(
        "check",
        {"code": code, "sets": ["sobelow"], "params": {"Sobelow.Config.Secrets": {"module_attributes": False}}},
    )
    assert off["findings"] == []


# ------------------------------------------------------------------------------ router config

ROUTER = '''defmodule ShopWeb.Router do
  use ShopWeb, :router

  @headers %{"x-frame-options" => "DENY"}

  pipeline :browser do
    plug :accepts, ["html"]
    plug :fetch_session
    plug :put_secure_browser_headers
  end

  pipeline :admin do
    plug :accepts, ~w(html json)
    plug :fetch_session
    plug :protect_from_forgery
    plug :put_secure_browser_headers, @headers
  end

  pipeline :legacy do
    plug :accepts, ["html"]
  end

  pipeline :ok do
    plug :accepts, ["html"]
    plug :fetch_session
    plug :protect_from_forgery
    plug :put_secure_browser_headers, %{"content-security-policy" => "default-src 'self'"}
  end

  pipeline :api do
    plug :accepts, ["json"]
    plug :fetch_session
    plug :protect_from_forgery
  end
end
'''


def test_router_pipelines(helper: Any) -> None:
    found = check(helper, ROUTER, "lib/shop_web/router.ex")
    assert [(f["rule"], f["line"], f["confidence"], f["trigger"], source_text(ROUTER, f)) for f in found] == [
        ("Sobelow.Config.CSRF", 6, "high", "browser", "pipeline :browser"),
        ("Sobelow.Config.CSP", 9, "high", "browser", "plug :put_secure_browser_headers"),
        ("Sobelow.Config.CSP", 16, "high", "admin", "plug :put_secure_browser_headers"),
        ("Sobelow.Config.Headers", 19, "high", "legacy", "pipeline :legacy"),
    ]
    # only routers are checked
    not_router = ROUTER.replace("use ShopWeb, :router", "use ShopWeb, :controller")
    assert [f for f in check(helper, not_router, "lib/shop_web/pipelines.ex") if "Config" in f["rule"]] == []


# ------------------------------------------------------------------------------ sobelow_skip

SKIPS = '''defmodule Demo.Skips do
  # sobelow_skip ["DOS.StringToAtom"]
  def a(x), do: {String.to_atom(x), File.read!(x)}

  def b(x), do: String.to_atom(x)

  # sobelow_skip ["DOS"]
  def c(x), do: List.to_atom(x)

  # sobelow_skip ["Traversal.FileModule", "DOS.StringToAtom"]
  defp d(x), do: {String.to_atom(x), File.read!(x)}

  # sobelow_skip ["RCE.CodeModule"]
  # sobelow_skip ["CI.System"]
  def e(x), do: {System.cmd(x, []), Code.eval_string(x)}

  #sobelow_skip ["DOS.StringToAtom"]
  def f(x), do: String.to_atom(x)

  #  sobelow_skip ["DOS.StringToAtom"]
  def g(x), do: String.to_atom(x)

  def h(x) do
    ~S"""
    # sobelow_skip ["DOS.StringToAtom"]
    """
  end

  def i(x), do: String.to_atom(x)
end
'''


def test_sobelow_skip_applies_to_the_next_def(helper: Any) -> None:
    got = [(f["rule"], f["line"]) for f in check(helper, SKIPS)]
    assert got == [
        ("Sobelow.Traversal.FileModule", 3),  # other types in a skipped def still fire
        ("Sobelow.DOS.StringToAtom", 5),  # the skip covers one def only
        # 8: the group name "DOS" skips DOS.ListToAtom; 11: both named types are skipped
        ("Sobelow.RCE.CodeModule", 15),  # only the skip right above the def counts
        # 18: `#sobelow_skip` (no space) matches Sobelow's pattern
        ("Sobelow.DOS.StringToAtom", 21),  # two spaces after `#` do not
        ("Sobelow.DOS.StringToAtom", 29),  # text inside a string is not a comment
    ]


# ------------------------------------------------------------------------------ autofixes


def apply_edits(code: str, edits: list[dict[str, Any]]) -> str:
    lines = code.split("\n")
    for e in sorted(edits, key=lambda e: (e["line"], e["column"]), reverse=True):
        assert e["line"] == e["end_line"]
        text = lines[e["line"] - 1]
        lines[e["line"] - 1] = text[: e["column"] - 1] + e["text"] + text[e["end_column"] - 1 :]
    return "\n".join(lines)


FIXABLE = '''defmodule DemoWeb.FixController do
  use DemoWeb, :controller

  def a(conn, %{"k" => k}), do: json(conn, %{k: String.to_atom(k)})
  def b(conn, params), do: json(conn, Enum.map(params["ks"], &String.to_atom/1))
  def c(_conn, cs), do: List.to_atom(cs)
  def d(_conn, b), do: :erlang.binary_to_atom(b, :utf8)
  def e(_conn, id), do: :"user_#{id}_x"
  def f(_conn, blob), do: :erlang.binary_to_term(blob)
  def g(_conn, blob), do: blob |> :erlang.binary_to_term()
  def h(_conn, blob), do: blob |> Base.decode64!() |> :erlang.binary_to_term()
end
'''


def test_each_autofix_removes_its_finding_and_adds_none(helper: Any) -> None:
    before = check(helper, FIXABLE)
    fixable = [f for f in before if f.get("fix")]
    assert sorted((f["rule"], f["line"]) for f in fixable) == [
        ("Sobelow.DOS.BinToAtom", 7),
        ("Sobelow.DOS.BinToAtom", 8),
        ("Sobelow.DOS.ListToAtom", 6),
        ("Sobelow.DOS.StringToAtom", 4),
        ("Sobelow.DOS.StringToAtom", 5),
        ("Sobelow.Misc.BinToTerm", 9),
        ("Sobelow.Misc.BinToTerm", 10),
        ("Sobelow.Misc.BinToTerm", 11),
    ]
    for finding in fixable:
        fixed = apply_edits(FIXABLE, finding["fix"]["edits"])
        assert helper.request("check", {"code": fixed, "sets": []})["syntax_error"] is None
        after = check(helper, fixed)
        remaining = Counter(key(f) for f in before)
        remaining[key(finding)] -= 1
        assert Counter(key(f) for f in after) == +remaining, finding["fix"]


def test_fix_texts(helper: Any) -> None:
    lines = FIXABLE.splitlines()
    fixed = {f["line"]: apply_edits(FIXABLE, f["fix"]["edits"]).splitlines()[f["line"] - 1] for f in check(helper, FIXABLE) if f.get("fix")}
    assert fixed[4] == lines[3].replace("String.to_atom", "String.to_existing_atom")
    assert fixed[5] == lines[4].replace("&String.to_atom/1", "&String.to_existing_atom/1")
    assert fixed[7] == lines[6].replace("binary_to_atom", "binary_to_existing_atom")
    assert fixed[8] == lines[7].replace(':"user_#{id}_x"', 'String.to_existing_atom("user_#{id}_x")')
    assert fixed[9] == lines[8].replace("binary_to_term(blob)", "binary_to_term(blob, [:safe])")
    assert fixed[10] == lines[9].replace("binary_to_term()", "binary_to_term([:safe])")


# ------------------------------------------------------------------------------ catalogue


def rule_ids_in_elixir() -> set[str]:
    ids: set[str] = set()
    for path in RULES_DIR.glob("20_sobelow_*.exs"):
        ids |= set(re.findall(r'def id, do: "(Sobelow\.[\w.]+)"', path.read_text()))
    return ids


def test_every_rule_has_a_doc_entry_and_a_cwe() -> None:
    ids = rule_ids_in_elixir()
    assert len(ids) >= 12
    entries = {e["id"]: e for e in sobelow_docs.ENTRIES}
    assert set(entries) == ids
    for entry in entries.values():
        assert entry["category"] == "security"
        assert cwe.get(entry["cwe"]) is not None, entry["id"]
        assert cwe.url(entry["cwe"]) in entry["references"]
        for field in ("title", "what", "why", "how_to_fix", "bad_example", "good_example"):
            assert entry[field].strip(), (entry["id"], field)
        assert entry["confidence"] in {"high", "medium", "low"}
    assert {e["id"] for e in entries.values() if e["autofix"]} == {
        "Sobelow.DOS.StringToAtom",
        "Sobelow.DOS.ListToAtom",
        "Sobelow.DOS.BinToAtom",
        "Sobelow.Misc.BinToTerm",
    }


def test_catalogue_rules_when_catalogue_exists() -> None:
    catalogue = pytest.importorskip("elixir_coder_lsp.rules.catalogue")
    rules = sobelow_docs.RULES
    assert [r.id for r in rules] == [e["id"] for e in sobelow_docs.ENTRIES]
    assert all(r.tool == "sobelow" and r.cwe for r in rules)
    assert catalogue.Rule is type(rules[0])


def test_cwe_table() -> None:
    entry = cwe.get(89)
    assert entry is not None and "SQL" in entry.name
    assert entry.url == "https://cwe.mitre.org/data/definitions/89.html"
    assert entry.label.startswith("CWE-89: ")
    assert cwe.get(None) is None and cwe.get(123456) is None
    assert [e.id for e in catalogue.cited_cwe_entries()] == catalogue.cited_cwe_ids()


def example_source(rule_id: str, snippet: str) -> tuple[str, str]:
    """Wrap a doc example into a file the rule can see; returns (code, filename)."""
    if rule_id == "Sobelow.Config.Secrets":
        return "import Config\n\n" + snippet + "\n", "config/prod.exs"
    if rule_id.startswith("Sobelow.Config."):
        body = snippet if snippet.startswith("pipeline") else f"pipeline :browser do\n{snippet}\nend"
        return f"defmodule DemoWeb.Router do\n  use DemoWeb, :router\n{body}\nend\n", "lib/demo_web/router.ex"
    if not snippet.startswith(("def", "require", "# ")):
        snippet = f"def run(conn, id, table, day, repo) do\n{snippet}\nend"
    return f"defmodule Demo.Example do\n{snippet}\nend\n", "lib/demo/example.ex"


@pytest.mark.parametrize("entry", sobelow_docs.ENTRIES, ids=lambda e: e["id"])
def test_doc_examples_are_honest(helper: Any, entry: dict[str, Any]) -> None:
    # The bad example fires its rule, the fixed one does not.
    for field, fires in (("bad_example", True), ("good_example", False)):
        code, filename = example_source(entry["id"], entry[field])
        rules = [f["rule"] for f in check(helper, code, filename)]
        assert (entry["id"] in rules) is fires, (field, code, rules)
