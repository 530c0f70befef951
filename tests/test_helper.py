"""The Elixir helper process and its client, against real Elixir."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from elixir_coder_lsp.elixir import (
    ElixirHelper,
    HelperCrashed,
    HelperRequestError,
    HelperTimeout,
    HelperUnavailable,
    ParseResult,
)

TEST_ENV = {"ELIXIR_CODER_HELPER_TEST": "1"}
# A small per-request heap so the memory limit can be hit with a small input.
SMALL_HEAP_ENV = {**TEST_ENV, "ELIXIR_CODER_HELPER_MAX_HEAP_MB": "16"}

SAMPLE = '''defmodule Shop.Cart do
  @moduledoc "A cart."
  alias Shop.{Item, Price}
  alias Shop.Repo, as: R
  import Enum, only: [map: 2]
  require Logger
  use GenServer

  @tax 0.2

  @doc "Adds an item."
  def add(cart, %Item{} = item) when is_map(cart) do
    Logger.info("adding")
    name = item.name |> String.to_atom()
    R.insert(cart, name)
    :os.cmd('ls')
    Enum.map([1], &Price.of/1)
  end

  def add(cart, nil), do: cart

  defp total(cart, rate \\\\ 1), do: cart.sum * rate

  defmodule Line do
    def new, do: %{}
  end
end
'''


def big_code(n_defs: int) -> str:
    """Valid code with ``n_defs`` small functions (about 160 bytes each)."""
    body = "".join(
        f'  @doc "Doc {i}"\n  def fun_{i}(a, b) do\n    x = String.upcase(a) <> "{i}"\n'
        f"    Enum.map([1, 2, 3], fn y -> y + b end)\n    {{x, %{{key: a, other: [b, :atom]}}}}\n  end\n\n"
        for i in range(n_defs)
    )
    return "defmodule Big do\n" + body + "end\n"


@pytest.fixture(scope="module")
def test_helper() -> Iterator[ElixirHelper]:
    """A helper with the test-only `sleep` op and a 16 MB per-request heap."""
    with ElixirHelper(env=SMALL_HEAP_ENV, timeout=20.0) as h:
        yield h


# -- parse ----------------------------------------------------------------------------------------


def test_valid_code_parses(helper: ElixirHelper) -> None:
    assert helper.parse(SAMPLE) == ParseResult(ok=True)
    assert helper.parse("").ok
    assert helper.parse("   \n# only a comment\n").ok


@pytest.mark.parametrize(
    ("code", "line", "column", "needle"),
    [
        ("defmodule A do\n  def f, do: 1\n", 3, 1, "missing terminator: end"),
        ("x = )", 1, 5, "unexpected token: )"),
        ('x = "abc', 1, 9, 'missing terminator: "'),
        ('a = """\nfoo', 2, 4, "heredoc"),
        ("~s(abc", 1, 7, "sigil"),
        ("foo(1, 2", 1, 9, "missing terminator: )"),
        ("foo(]", 1, 5, 'missing terminator ")"'),
        ("x = 1 +", 1, 7, "syntax error before: end of input"),
        ("def f do\n  1\nend end", 3, 5, "unexpected reserved word: end"),
        ("1 2", 1, 3, "syntax error before: "),
    ],
)
def test_syntax_error_positions(helper: ElixirHelper, code: str, line: int, column: int, needle: str) -> None:
    result = helper.parse(code)
    assert not result.ok
    assert (result.line, result.column) == (line, column), result
    assert needle in result.message


def test_error_token_is_unquoted(helper: ElixirHelper) -> None:
    result = helper.parse("1 2")
    assert result.token == "2"
    assert result.message == 'syntax error before: "2"'


def test_columns_count_code_points(helper: ElixirHelper) -> None:
    # é, 🎉 and 中 are one column each (2, 4 and 3 bytes in UTF-8; 🎉 is 2 UTF-16 units).
    result = helper.parse('é = "🎉中" )')
    assert (result.line, result.column, result.token) == (1, 10, ")")


def test_unicode_round_trips(helper: ElixirHelper) -> None:
    code = 'x = "🎉 中文 \\u00e9 \\n"\n'
    assert helper.format(code) == code
    summary = helper.summary('defmodule Uni do\n  @doc "🎉"\n  def 中(a), do: a\nend\n')
    assert summary["modules"][0]["name"] == "Uni"
    assert summary["defs"][0]["name"] == "中"
    assert summary["defs"][0]["head"] == "def 中(a), do: a"


def test_one_megabyte_file_parses(helper: ElixirHelper) -> None:
    code = big_code(6_500)
    assert len(code.encode()) > 1_000_000
    assert helper.parse(code, timeout=60).ok


def test_size_limit(helper: ElixirHelper) -> None:
    with pytest.raises(HelperRequestError) as err:
        helper.request("parse", {"code": "x = 1\n" * 20, "max_bytes": 50})
    assert err.value.kind == "too_large"
    assert "at most 50 bytes" in err.value.message


def test_deep_nesting_is_refused_and_helper_survives(helper: ElixirHelper) -> None:
    for code in ["[" * 100_000, "(" * 600 + ")" * 600, "fn -> " * 600]:
        with pytest.raises(HelperRequestError) as err:
            helper.parse(code)
        assert err.value.kind == "too_nested"
        assert "500 levels" in err.value.message
    # Nesting inside strings and comments does not count.
    assert helper.parse('x = "' + "(" * 1000 + '" # ' + "[" * 1000).ok
    assert helper.request("ping") == "pong"


def test_invalid_utf8(helper: ElixirHelper) -> None:
    with pytest.raises(HelperRequestError) as err:
        helper.parse(b"x = \"\xff\xfe\"")
    assert err.value.kind == "invalid_input"
    assert "offset 5" in err.value.message
    assert helper.parse(b"x = 1").ok  # bytes that are UTF-8 are fine


def test_unknown_op(helper: ElixirHelper) -> None:
    with pytest.raises(HelperRequestError) as err:
        helper.request("no_such_op")
    assert err.value.kind == "unknown_op"
    assert "parse" in err.value.message


def test_json_codec_round_trip(test_helper: ElixirHelper) -> None:
    value = {
        "controls": "".join(chr(c) for c in range(32)) + '"\\/\x7f',
        "unicode": "é中🎉\u2028",
        "numbers": [0, -1, 12345678901234567890, 1.5, -0.25, 1e-7, 2.5e20],
        "nested": {"a": [True, False, None, [], {}], "": "empty key"},
    }
    assert test_helper.request("echo", value) == value


def test_json_decoder_escapes(test_helper: ElixirHelper) -> None:
    # Hand-written request: \u escapes, a surrogate pair, exponent forms, odd whitespace.
    from elixir_coder_lsp.elixir.process import encode_request  # noqa: F401 - documents the usual path

    proc = test_helper._process()
    rid = 10**9 + 1
    line = (
        '{"id": %d , "op":"echo","args":{ "s":"\\u00e9\\ud83c\\udf89\\n\\t\\/\\"",'
        ' "n":[1E3,-2e-2,0.5] ,"t":true}}\n' % rid
    ).encode()
    response = proc.submit(rid, line).result(5)
    assert response["ok"], response
    assert response["result"] == {"s": 'é🎉\n\t/"', "n": [1000.0, -0.02, 0.5], "t": True}


def test_malformed_request_line_is_reported(test_helper: ElixirHelper) -> None:
    proc = test_helper._process()
    rid = 10**9 + 2
    response = proc.submit(rid, b'{"id": %d, "op": "echo", "args": [1, 2]}\n' % rid).result(5)
    assert response["error"]["kind"] == "bad_request"
    assert test_helper.request("ping") == "pong"


# -- summary and format -----------------------------------------------------------------------------


def test_summary_facts(helper: ElixirHelper) -> None:
    s = helper.summary(SAMPLE)
    assert s["modules"] == [
        {"name": "Shop.Cart", "line": 1, "end_line": 27, "has_moduledoc": True},
        {"name": "Shop.Cart.Line", "line": 24, "end_line": 26, "has_moduledoc": False},
    ]
    defs = {(d["name"], d["arity"], d["line"]): d for d in s["defs"]}
    add = defs[("add", 2, 12)]
    assert add["kind"] == "def" and add["end_line"] == 18 and add["has_doc"]
    assert add["head"] == "def add(cart, %Item{} = item) when is_map(cart) do"
    assert defs[("add", 2, 20)]["has_doc"]  # later clauses share the first clause's @doc
    total = defs[("total", 2, 22)]
    assert total["kind"] == "defp" and not total["has_doc"]
    assert defs[("new", 0, 25)]["module"] == "Shop.Cart.Line"
    assert [(a["module"], a["as"]) for a in s["aliases"]] == [
        ("Shop.Item", "Item"),
        ("Shop.Price", "Price"),
        ("Shop.Repo", "R"),
    ]
    assert s["imports"] == [{"module": "Enum", "line": 5}]
    assert s["requires"] == [{"module": "Logger", "line": 6}]
    assert s["uses"] == [{"module": "GenServer", "line": 7}]
    assert {a["name"] for a in s["attributes"]} == {"moduledoc", "tax", "doc"}
    calls = {(c["module"], c["function"], c["arity"]): (c["line"], c["column"]) for c in s["remote_calls"]}
    assert calls[("Logger", "info", 1)] == (13, 5)
    assert calls[("String", "to_atom", 1)] == (14, 25)  # piped: arity counts the piped value
    assert calls[("Shop.Repo", "insert", 2)] == (15, 5)  # alias resolved
    assert calls[(":os", "cmd", 1)] == (16, 5)
    assert calls[("Shop.Price", "of", 1)] == (17, 20)  # capture &Price.of/1


def test_summary_of_broken_code_is_a_syntax_error(helper: ElixirHelper) -> None:
    with pytest.raises(HelperRequestError) as err:
        helper.summary("defmodule A do")
    assert err.value.kind == "syntax_error"
    assert "line 1" in err.value.message


def test_summary_of_empty_code(helper: ElixirHelper) -> None:
    s = helper.summary("")
    assert s["modules"] == [] and s["defs"] == [] and s["remote_calls"] == []


def test_format_with_line_length(helper: ElixirHelper) -> None:
    code = "def f(a, b), do: some_function(a, b, :with_a_long_atom, :and_another_one)"
    assert helper.format(code) == code + "\n"
    narrow = helper.format(code, line_length=40)
    assert narrow.endswith("\n") and max(len(line) for line in narrow.splitlines()) <= 40
    assert helper.format("") == ""
    with pytest.raises(HelperRequestError) as err:
        helper.format("def f(")
    assert err.value.kind == "syntax_error"


# -- concurrency, timeouts, crashes ---------------------------------------------------------------


def test_concurrent_requests_from_threads(helper: ElixirHelper) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(15):
                assert helper.parse(f"x_{n}_{i} = {i}").ok
                assert not helper.parse(f"x_{n} = ({i}").ok
                assert helper.summary(f"defmodule M{n} do\n  def f{i}, do: {i}\nend")["defs"][0]["arity"] == 0
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_timeout_fails_one_request_only(test_helper: ElixirHelper) -> None:
    with pytest.raises(HelperTimeout):
        test_helper.request("sleep", {"ms": 3_000}, timeout=0.3)
    # Requests run concurrently inside the BEAM: the slow one blocks nothing.
    started = time.monotonic()
    assert test_helper.request("ping") == "pong"
    assert time.monotonic() - started < 2.0


def test_helper_enforces_its_own_time_limit(test_helper: ElixirHelper) -> None:
    # The client normally gives the helper its wait plus a margin; here the helper's limit (300 ms)
    # is the shorter one, so the BEAM stops the work itself and answers with kind "timeout".
    from elixir_coder_lsp.elixir.process import encode_request

    proc = test_helper._process()
    rid = 10**9
    fut = proc.submit(rid, encode_request({"id": rid, "op": "sleep", "args": {"ms": 5_000}, "timeout_ms": 300}))
    response = fut.result(5)
    assert response["ok"] is False
    assert response["error"]["kind"] == "timeout"
    assert "time limit" in response["error"]["message"]


def test_memory_limit_stops_only_that_request(test_helper: ElixirHelper) -> None:
    with pytest.raises(HelperRequestError) as err:
        test_helper.parse(big_code(3_000), timeout=30)
    assert err.value.kind == "too_large"
    assert "more than 16 MB of memory" in err.value.message
    assert test_helper.parse("x = 1").ok


def test_kill_mid_request_then_recover() -> None:
    with ElixirHelper(env=TEST_ENV) as h:
        assert h.request("ping") == "pong"
        pid = h.pid
        assert pid is not None and h.stats()["os_pid"] == pid
        outcome: list[BaseException] = []

        def slow() -> None:
            try:
                h.request("sleep", {"ms": 10_000})
            except BaseException as e:  # noqa: BLE001 - inspected below
                outcome.append(e)

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.3)
        os.kill(pid, signal.SIGKILL)
        t.join(10)
        assert len(outcome) == 1 and isinstance(outcome[0], HelperCrashed)
        assert "exited (code -9)" in str(outcome[0])
        assert h.parse("x = 1").ok
        stats = h.stats()
        assert stats["pid"] != pid and stats["restarts"] == 1


def test_unresponsive_helper_is_replaced() -> None:
    with ElixirHelper(env=TEST_ENV) as h:
        h.health_timeout = 0.5
        assert h.request("ping") == "pong"
        pid = h.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)  # a wedged BEAM: alive, silent
        with pytest.raises(HelperTimeout):
            h.request("ping", timeout=0.3)
        deadline = time.monotonic() + 10
        while h.pid == pid and time.monotonic() < deadline:
            time.sleep(0.05)
        assert h.request("ping") == "pong"
        assert h.stats()["restarts"] == 1


def test_repeated_crashes_make_it_unavailable() -> None:
    h = ElixirHelper(env=TEST_ENV)
    h.crash_limit = 2
    try:
        assert h.request("ping") == "pong"
        for _ in range(2):
            pid = h.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while h.pid == pid and time.monotonic() < deadline:
                time.sleep(0.02)
        # First crash: restarted at once. Second: cooling off, with the reason.
        with pytest.raises(HelperUnavailable) as err:
            h.request("ping")
        assert "crashed 2 times within 60 s" in err.value.message
    finally:
        h.close()


def test_missing_elixir_is_a_clear_error() -> None:
    h = ElixirHelper(elixir="no-such-elixir-executable")
    with pytest.raises(HelperUnavailable) as err:
        h.parse("x = 1")
    assert err.value.message.startswith("Elixir was not found on PATH; install it (Debian: apt-get install elixir)")
    with pytest.raises(HelperUnavailable):
        ElixirHelper(elixir="/nonexistent/elixir").request("ping")


def test_closed_helper_refuses() -> None:
    h = ElixirHelper()
    h.close()
    with pytest.raises(HelperUnavailable):
        h.request("ping")


def test_atom_table_recycling_loses_no_request() -> None:
    # +t 65536: small enough to fill quickly, large enough for the boot (~20k atoms with rules).
    with ElixirHelper(erl_flags=["+t", "65536"], recycle_at=0.6, timeout=30.0) as h:
        first_pid = h.request("stats") and h.pid
        failures: list[BaseException] = []
        counter = iter(range(10**6))
        lock = threading.Lock()

        def work() -> None:
            try:
                for _ in range(10):
                    with lock:
                        base = next(counter)
                    code = "\n".join(f"v{base}_{i} = {i}" for i in range(1_500))
                    assert h.parse(code).ok
            except BaseException as e:  # noqa: BLE001 - reported below
                failures.append(e)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        stats = h.stats()
        assert stats["recycles"] >= 1
        assert stats["pid"] != first_pid
        assert stats["atom_count"] < 0.9 * stats["atom_limit"]
        assert stats["atom_limit"] == 65_536
        # A request that could fill the table by itself is refused even by a fresh helper.
        with pytest.raises(HelperRequestError) as err:
            h.parse("x = 1\n# " + "y" * 300_000)
        assert err.value.kind == "recycle"
        assert h.parse("x = 1").ok


# -- rules files ----------------------------------------------------------------------------------

GOOD_RULE = """
defmodule TestRules.Shout do
  IO.puts("noise while compiling")
  def __helper_ops__, do: %{"shout" => &shout/1}

  defp shout(%{"text" => text}) do
    IO.puts("noise while running")
    require Logger
    Logger.warning("noise from Logger")
    spawn(fn -> raise "a crash report" end)
    Process.sleep(50)
    {:ok, String.upcase(text)}
  end
end
"""
BROKEN_RULE = "defmodule TestRules.Broken do\n  def f( end\n"
BAD_OPS_RULE = "defmodule TestRules.BadOps do\n  def __helper_ops__, do: :nope\nend\n"


def run_helper_in(directory: Path, lines: list[str], env: dict[str, str]) -> list[dict]:
    """Runs helper.exs from `directory` (precompiled when the cache exists) and reads all output."""
    from elixir_coder_lsp.elixir.cache import HELPER_SCRIPT, helper_cache_dir

    elixir = shutil.which("elixir")
    assert elixir is not None
    cache = helper_cache_dir(elixir)
    if cache is not None and (cache / "complete").exists():
        argv = [elixir, "-pa", str(cache), "-e", f"ElixirCoder.Helper.Server.main({str(directory)!r})"]
    else:
        shutil.copy(HELPER_SCRIPT, directory / "helper.exs")
        shutil.copytree(HELPER_SCRIPT.with_name("helper"), directory / "helper", dirs_exist_ok=True)
        argv = [elixir, str(directory / "helper.exs")]
    done = subprocess.run(
        argv, input="".join(line + "\n" for line in lines).encode(), capture_output=True, timeout=60,
        env={**os.environ, **env},
    )
    return [json.loads(line) for line in done.stdout.decode().splitlines()]  # every line is protocol


def test_rules_files_add_ops_and_broken_ones_are_skipped(helper: ElixirHelper, tmp_path: Path) -> None:
    helper.request("ping")  # makes sure the precompiled helper exists
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "01_good.exs").write_text(GOOD_RULE)
    (rules / "02_broken.exs").write_text(BROKEN_RULE)
    (rules / "03_bad_ops.exs").write_text(BAD_OPS_RULE)
    requests = ['{"id":1,"op":"shout","args":{"text":"hé 🎉"}}', '{"id":2,"op":"stats"}']
    env = {"ELIXIR_CODER_HELPER_RULES_CACHE": str(tmp_path / "rules-cache")}
    for _run in ("compiles and caches", "loads from the cache"):
        out = run_helper_in(tmp_path, requests, env)
        hello, *responses = out
        assert hello["id"] is None and hello["result"]["ready"]
        by_id = {r["id"]: r for r in responses}
        assert by_id[1]["result"] == "HÉ 🎉"
        errors = by_id[2]["result"]["rule_errors"]
        assert len(errors) == 2, errors
        assert errors[0].startswith("02_broken.exs: ")
        assert errors[1].startswith("03_bad_ops.exs: TestRules.BadOps.__helper_ops__/0 returned :nope")
        assert "shout" in by_id[2]["result"]["ops"]
        assert (tmp_path / "rules-cache" / "manifest.etf").exists()


def test_helper_starts_without_rules(tmp_path: Path) -> None:
    out = run_helper_in(tmp_path, ['{"id":7,"op":"parse","args":{"code":"x = 1"}}'], {})
    assert out[-1] == {"id": 7, "ok": True, "result": {"ok": True}, "atoms": out[-1]["atoms"]}


@pytest.mark.parametrize("exit_call", ["sys.exit(0)", "os._exit(0)"])
def test_helper_dies_with_its_python_process(exit_call: str) -> None:
    # sys.exit runs atexit (close); os._exit skips it and the BEAM sees EOF on stdin instead.
    script = (
        "import os, sys\n"
        "from elixir_coder_lsp.elixir import ElixirHelper\n"
        "h = ElixirHelper()\n"
        "h.request('ping')\n"
        "print(h.pid, flush=True)\n"
        f"{exit_call}\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    pid = int(done.stdout.split()[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail(f"helper pid {pid} still running after its Python process exited")
