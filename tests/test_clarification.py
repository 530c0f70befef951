"""Clarification: entropy, EVPI, clustering, the decision rule, questions, the `clarify` CLI and the façade."""

from __future__ import annotations

import json
import math

import pytest

from elixir_coder_lsp.inference.clarification import (
    ClarificationSessions,
    Sample,
    clarify,
    compute_divergence,
    merge_answer,
    semantic_entropy,
    should_ask,
)
from elixir_coder_lsp.inference.divergence import classify_ambiguity, cluster, entropy, feature_distance
from elixir_coder_lsp.inference.questions import (
    acceptable_rewrite,
    build_questions,
    evpi,
    information_gain,
    rewrite_text,
)

# -- hand-computed values ---------------------------------------------------------------------------


def test_entropy_hand_values() -> None:
    assert entropy([1.0]) == 0.0
    assert entropy([0.8, 0.2]) == pytest.approx(-(0.8 * math.log(0.8) + 0.2 * math.log(0.2)))
    assert entropy([0.8, 0.2]) == pytest.approx(0.5004, abs=1e-4)  # 4/1 of 5: just over 0.5
    assert entropy([0.6, 0.4]) == pytest.approx(0.6730, abs=1e-4)
    assert entropy([0.6, 0.2, 0.2]) == pytest.approx(0.9503, abs=1e-4)
    assert entropy([0.25] * 4) == pytest.approx(math.log(4))


def test_semantic_entropy_counts_and_likelihood_weights() -> None:
    clusters = [[0, 1, 2], [3]]
    counted, weighted = semantic_entropy(clusters)
    assert counted == pytest.approx(entropy([0.75, 0.25])) and weighted is None
    # equal log-probabilities: the weighted value equals the count-based one
    assert semantic_entropy(clusters, [-1.0] * 4)[1] == pytest.approx(counted)
    # sample 3 is e^2 times as likely as each of the others: p = (3, e^2) / (3 + e^2)
    p = math.e**2 / (3 + math.e**2)
    assert semantic_entropy(clusters, [-3.0, -3.0, -3.0, -1.0])[1] == pytest.approx(entropy([1 - p, p]))
    assert semantic_entropy(clusters, [-1.0, None, -1.0, -1.0])[1] is None
    assert semantic_entropy([]) == (0.0, None)


def test_evpi_and_information_gain_hand_values() -> None:
    assert evpi([0.6, 0.4], [[0], [1]]) == pytest.approx(0.4)
    assert evpi([0.6, 0.4], [[0, 1]]) == pytest.approx(0.0)  # an answer that cannot tell them apart
    assert evpi([0.5, 0.3, 0.2], [[0], [1, 2]]) == pytest.approx(0.3)
    assert evpi([0.5, 0.3, 0.2], [[0, 1], [2]]) == pytest.approx(0.2)
    assert evpi([0.5, 0.3, 0.2], [[0], [1], [2]]) == pytest.approx(0.5)
    h = entropy([0.5, 0.3, 0.2])
    assert information_gain([0.5, 0.3, 0.2], [[0], [1], [2]]) == pytest.approx(h)
    # {0} vs {1, 2}: H(C) - 0.5 * H(0.6, 0.4)
    assert information_gain([0.5, 0.3, 0.2], [[0], [1, 2]]) == pytest.approx(h - 0.5 * entropy([0.6, 0.4]))


# -- pure clustering and the decision (features in, clusters out) -----------------------------------

TUPLE = {"error_handling": {"error_tuple"}, "functions": {"fetch/2"}}
RAISE = {"error_handling": {"raise"}, "functions": {"fetch/2"}}
NIL = {"error_handling": {"nil"}, "functions": {"fetch/2"}}
TUPLE_RENAMED = {"error_handling": {"error_tuple"}, "functions": {"fetch/2"}, "attributes": {"timeout"}}


def _analysis(features, **kw):
    return compute_divergence([Sample(code="x")] * len(features), features=features, **kw)


def test_clusters_from_features() -> None:
    a = _analysis([TUPLE, RAISE, TUPLE_RENAMED, TUPLE, RAISE])
    assert a.clusters == [[0, 2, 3], [1, 4]]
    assert a.probabilities == [0.6, 0.4]
    assert a.entropy == pytest.approx(0.673, abs=1e-3)
    assert a.confidence == 0.6
    # structure alone (attributes, functions, modules all apart) never splits a cluster
    other = {"error_handling": {"error_tuple"}, "functions": {"get/1"}, "attributes": {"x"}, "modules": {"Logger"}}
    assert feature_distance(TUPLE, other) < 0.15
    assert _analysis([TUPLE, other]).clusters == [[0, 1]]


def test_external_dependencies_compare_per_job() -> None:
    from elixir_coder_lsp.inference.divergence import external_distance

    # another HTTP client is another choice, even when both decode with Jason
    assert external_distance(frozenset({"httpoison", "jason"}), frozenset({"httpc", "jason"})) == 1.0
    assert external_distance(frozenset({"req", "jason"}), frozenset({"req"})) == 1.0  # JSON: one side has none
    assert external_distance(frozenset({"req"}), frozenset({"req", "lib:Foo"})) == 1.0
    assert external_distance(frozenset({"req", "jason"}), frozenset({"req", "jason"})) == 0.0
    a = _analysis([{"external_dependency": {"httpoison", "jason"}}] * 3 + [{"external_dependency": {"httpc", "jason"}}] * 2)
    assert len(a.clusters) == 2


def test_cluster_average_linkage() -> None:
    d = [[0, 0.1, 0.9], [0.1, 0, 0.9], [0.9, 0.9, 0]]
    assert cluster(d, 0.15) == [[0, 1], [2]]
    assert cluster(d, 0.95) == [[0, 1, 2]]
    assert cluster([], 0.15) == []


def test_decision_rule_and_thresholds() -> None:
    four_one = _analysis([TUPLE, TUPLE, TUPLE, TUPLE, RAISE])
    assert four_one.entropy == pytest.approx(0.5004, abs=1e-4)
    assert should_ask(four_one, 0.5, 3).decision == "ask"
    assert tuple(should_ask(four_one, 0.6, 3)) == ("proceed", 0.8)
    decision, ambiguity = should_ask(four_one, 0.5, 3)
    assert (decision, ambiguity) == ("ask", "error_handling")
    # 8/1/1 of 10: entropy 0.639 under 0.7, but three clusters reach clusterThreshold 3
    many = _analysis([TUPLE] * 8 + [RAISE, NIL])
    assert len(many.clusters) == 3 and many.entropy < 0.7
    assert should_ask(many, 0.7, 3).decision == "ask"
    assert should_ask(many, 0.7, 4).decision == "proceed"
    same = _analysis([TUPLE, TUPLE_RENAMED, TUPLE])
    assert tuple(should_ask(same, 0.0, 2)) == ("proceed", 1.0)


def test_invalid_samples_are_left_out() -> None:
    samples = [
        Sample(code="defmodule A do\nend\n"),
        Sample(code="x", closed_tokens=3),
        Sample(code="x", finish_reason="length"),
        Sample(code="   "),
        Sample(code="x" * 1_000_001),
        Sample(code="y"),
    ]
    feats = [TUPLE, TUPLE, TUPLE, TUPLE, TUPLE, RAISE]
    a = compute_divergence(samples, features=feats)
    assert a.invalid == [1, 2, 3, 4]
    assert a.invalid_reasons[1] == "closed by the grammar" and a.invalid_reasons[2] == "ran out of tokens"
    assert a.invalid_reasons[3] == "empty" and a.invalid_reasons[4].startswith("too large")
    d = should_ask(a, 0.5, 3)
    assert (d.decision, d.confidence, d.reason) == ("proceed", 0.0, "insufficient valid samples")
    # exactly half valid is enough; a None feature entry stands for a sample that does not parse
    b = compute_divergence([Sample(code="x")] * 4, features=[TUPLE, None, RAISE, None])
    assert b.invalid == [1, 3] and b.invalid_reasons[1] == "does not parse"
    assert b.clusters == [[0], [2]] and should_ask(b, 0.5, 3).decision == "ask"
    assert should_ask(compute_divergence([], features=[]), 0.5, 3).reason == "no samples"


def test_classify_and_questions_partition_the_clusters() -> None:
    conc_a = {"concurrency": {"genserver"}, "data_structure": {"map"}}
    conc_b = {"concurrency": {"agent"}, "data_structure": {"map"}}
    conc_c = {"concurrency": {"ets"}, "data_structure": {"ets_table"}}
    a = _analysis([conc_a, conc_b, conc_c, conc_a, conc_b])
    assert classify_ambiguity(a) == "concurrency"  # data differs too (GenServer vs ETS); concurrency explains more
    questions = build_questions(a, "Write a `SessionStore` with put/2 and get/1")
    top = questions[0]
    assert top.type == "concurrency"
    assert "`SessionStore`" in top.text and top.text.endswith("?")
    covered = sorted(c for o in top.options for c in o.clusters)
    assert covered == list(range(len(a.clusters)))  # every cluster in exactly one option
    assert {o.label for o in top.options} == {"a GenServer", "an Agent", "an ETS table"}
    assert top.evpi == pytest.approx(1 - max(a.probabilities))
    # the data-structure question groups GenServer and Agent (both maps): a lower EVPI
    data_q = next(q for q in questions if q.type == "data_structure")
    assert len(data_q.options) == 2 and data_q.evpi < top.evpi


def test_many_choices_share_an_other_option() -> None:
    kinds = ["genserver", "agent", "ets", "task", "registry"]
    a = _analysis([{"concurrency": {k}} for k in kinds + kinds[:1]])
    q = build_questions(a, "")[0]
    assert len(q.options) == 4 and q.options[-1].label.startswith("Other: ")
    assert sorted(c for o in q.options for c in o.clusters) == list(range(5))
    assert q.option_for("  A genserver ") is q.options[0] and q.option_for("something else") is None


def test_model_rewrite_is_kept_only_when_specific() -> None:
    a = _analysis([TUPLE, RAISE, TUPLE, RAISE, TUPLE])
    q = build_questions(a, "fetch a user")[0]
    template = q.text
    assert acceptable_rewrite("Should fetch/2 return {:error, :not_found} or raise when the user is missing?", q)
    assert not acceptable_rewrite("What should happen?", q)  # names no choice
    assert not acceptable_rewrite("Should it raise an exception when the user is missing", q)  # no question mark
    assert rewrite_text(q, "fetch a user", lambda _t: "Can you clarify?").text == template
    boom = rewrite_text(q, "fetch a user", lambda _t: (_ for _ in ()).throw(RuntimeError("model down")))
    assert boom.text == template
    good = rewrite_text(q, "fetch a user", lambda _t: "Should a missing user raise, or return an {:error, reason} tuple?\nextra")
    assert good.text.startswith("Should a missing user raise") and good.extra["rewritten"]


def test_sessions_and_merge_answer() -> None:
    sessions = ClarificationSessions(max_sessions=2)
    a = _analysis([TUPLE])
    s1, s2, s3 = (sessions.open(f"p{i}", a, []) for i in range(3))
    with pytest.raises(KeyError):
        sessions.take(s1.id)  # dropped: only two are kept
    assert sessions.take(s3.id).prompt == "p2"
    with pytest.raises(KeyError):
        sessions.take(s3.id)  # taken once
    assert merge_answer("Fetch a user. ", "How?", " raise ") == "Fetch a user.\n\nClarification: How?\nAnswer: raise"


# -- real programs through the helper ---------------------------------------------------------------

MAP_FOR = """defmodule Prices do
  def double(prices) do
    Enum.map(prices, fn p -> p * 2 end)
  end
end
"""
MAP_COMPREHENSION = """defmodule Prices do
  def double(values), do: for(v <- values, do: v * 2)
end
"""
MAP_PIPE = """defmodule Prices do
  def double(list) do
    list |> Enum.map(&(&1 * 2))
  end
end
"""
NESTED = """defmodule Prices do
  def total(items), do: Enum.sum(Enum.map(items, & &1.price))
end
"""
PIPED = """defmodule Prices do
  def total(rows) do
    rows
    |> Enum.map(& &1.price)
    |> Enum.sum()
  end
end
"""
FETCH_TUPLE = """defmodule Users do
  def fetch(users, id) do
    case Map.fetch(users, id) do
      {:ok, user} -> {:ok, user}
      :error -> {:error, :not_found}
    end
  end
end
"""
FETCH_WITH = """defmodule Users do
  def fetch(by_id, key) do
    with {:ok, found} <- Map.fetch(by_id, key) do
      {:ok, found}
    else
      :error -> {:error, :not_found}
    end
  end
end
"""
FETCH_RAISE = """defmodule Users do
  def fetch(users, id) do
    case Map.fetch(users, id) do
      {:ok, user} -> user
      :error -> raise KeyError, key: id
    end
  end
end
"""
GENSERVER = """defmodule Store do
  use GenServer
  def start_link(_), do: GenServer.start_link(__MODULE__, %{}, name: __MODULE__)
  def get(k), do: GenServer.call(__MODULE__, {:get, k})
  def init(s), do: {:ok, s}
  def handle_call({:get, k}, _from, s), do: {:reply, Map.get(s, k), s}
end
"""
AGENT = """defmodule Store do
  def start_link(_), do: Agent.start_link(fn -> %{} end, name: __MODULE__)
  def get(k), do: Agent.get(__MODULE__, &Map.get(&1, k))
end
"""
ETS_OWNED = """defmodule Store do
  use GenServer
  def start_link(_), do: GenServer.start_link(__MODULE__, nil, name: __MODULE__)
  def init(nil) do
    :ets.new(:store, [:set, :public, :named_table])
    {:ok, nil}
  end
  def put(k, v), do: :ets.insert(:store, {k, v})
  def get(k), do: :ets.lookup(:store, k)
end
"""
ETS_PLAIN = """defmodule Store do
  def setup, do: :ets.new(:store, [:set, :public, :named_table])
  def put(key, value), do: :ets.insert(:store, {key, value})
  def get(key), do: :ets.lookup(:store, key)
end
"""
AS_MAP = """defmodule Conf do
  def defaults, do: %{port: 4000, host: "localhost"}
end
"""
AS_KEYWORD = """defmodule Conf do
  def defaults, do: [port: 4000, host: "localhost"]
end
"""


def _clusters(helper, *codes):
    return compute_divergence([Sample(code=c) for c in codes], helper).clusters


def test_equivalent_programs_share_a_cluster(helper) -> None:
    assert _clusters(helper, MAP_FOR, MAP_COMPREHENSION, MAP_PIPE) == [[0, 1, 2]]
    assert _clusters(helper, NESTED, PIPED) == [[0, 1]]
    assert _clusters(helper, FETCH_TUPLE, FETCH_WITH) == [[0, 1]]  # renamed variables, case vs with
    # a GenServer that only owns the table callers use directly is still the ETS choice
    assert _clusters(helper, ETS_OWNED, ETS_PLAIN) == [[0, 1]]
    assert _clusters(helper, GENSERVER, ETS_PLAIN) == [[0], [1]]


def test_different_behaviours_are_apart(helper) -> None:
    assert _clusters(helper, FETCH_TUPLE, FETCH_RAISE) == [[0], [1]]
    assert _clusters(helper, GENSERVER, AGENT) == [[0], [1]]
    assert _clusters(helper, AS_MAP, AS_KEYWORD) == [[0], [1]]


def test_clarify_end_to_end_on_programs(helper) -> None:
    samples = [Sample(code=c) for c in (FETCH_TUPLE, FETCH_RAISE, FETCH_WITH, FETCH_RAISE, "defmodule Broken do")]
    result = clarify("Write `fetch/2` for users", samples, helper, entropy_threshold=0.6, cluster_threshold=3)
    doc = result.to_json()
    assert doc["invalid"] == [4] and doc["invalid_reasons"] == {"4": "does not parse"}
    assert doc["clusters"] == [[0, 2], [1, 3]] and doc["decision"] == "ask"
    assert doc["ambiguity"] == "error_handling" and doc["confidence"] == 0.5
    [q] = doc["questions"]
    assert "`fetch/2`" in q["text"] and q["evpi"] == pytest.approx(0.5)
    # the prompt names things in the question; it never changes the decision
    for prompt in ("", "Must raise. Never return errors.", "the usual GenServer"):
        other = clarify(prompt, samples, helper, entropy_threshold=0.6, cluster_threshold=3).to_json()
        assert (other["decision"], other["clusters"], other["ambiguity"]) == ("ask", doc["clusters"], "error_handling")
    assert sorted(c for o in q["options"] for c in o["clusters"]) == [0, 1]


def test_helper_features_op(helper) -> None:
    facts = helper.request("clarify_features", {"code": FETCH_RAISE + GENSERVER})
    assert "fetch/2" in facts["defs"] and "GenServer" in facts["uses"]
    assert "raise/2" in facts["local_calls"] and "Map.fetch/2" in facts["remote_calls"]
    from elixir_coder_lsp.elixir.client import HelperError

    with pytest.raises(HelperError) as info:
        helper.request("clarify_features", {"code": "def ("})
    assert info.value.kind == "syntax_error"


# -- CLI ----------------------------------------------------------------------------------------------


@pytest.fixture
def run_cli(helper, monkeypatch, capsys, tmp_path):
    from elixir_coder_lsp import cli
    from elixir_coder_lsp.elixir import client

    monkeypatch.setattr(client, "default_helper", lambda: helper)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))

    def run(doc, *extra):
        path = tmp_path / "samples.json"
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
        code = cli.main(["clarify", "--samples", str(path), "--json", *extra])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def test_cli_clarify_shape(run_cli) -> None:
    doc = {"prompt": "fetch a user", "samples": [{"code": FETCH_TUPLE, "logprob": -3.0}, {"code": FETCH_RAISE, "logprob": -2.0},
                                                 {"code": FETCH_WITH, "logprob": -3.5}]}
    code, out, _ = run_cli(doc)
    result = json.loads(out)
    assert code == 0
    assert set(result) >= {"clusters", "invalid", "entropy", "decision", "confidence", "ambiguity", "questions"}
    assert result["decision"] == "ask" and result["ambiguity"] == "error_handling"
    assert result["weighted_entropy"] is not None
    option = result["questions"][0]["options"][0]
    assert set(option) == {"label", "clusters"}
    code, out, _ = run_cli({"prompt": "", "samples": [FETCH_TUPLE, FETCH_WITH]})
    result = json.loads(out)
    assert code == 0 and result["decision"] == "proceed" and result["questions"] == [] and result["confidence"] == 1.0
    # the thresholds can be overridden
    code, out, _ = run_cli(doc, "--entropy-threshold", "5", "--cluster-threshold", "9")
    assert json.loads(out)["decision"] == "proceed"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected an object"),
        ({"prompt": "x"}, '"samples" must be a list'),
        ({"prompt": "x", "samples": []}, "no samples"),
        ({"prompt": "x", "samples": [{"logprob": 1}]}, 'needs a "code" string'),
        ({"prompt": "x", "samples": [{"code": "a", "logprob": "high"}]}, '"logprob" must be a number'),
        ({"prompt": 3, "samples": [{"code": "a"}]}, '"prompt" must be a string'),
    ],
)
def test_cli_clarify_bad_input_is_exit_2(run_cli, doc, message) -> None:
    code, out, err = run_cli(doc)
    assert code == 2 and out == "" and message in err and "Traceback" not in err


def test_cli_clarify_empty_and_huge_code_proceed_with_a_reason(run_cli) -> None:
    huge = "x = 1\n" * 200_000  # 1.2 MB
    code, out, err = run_cli({"prompt": "x", "samples": [{"code": ""}, {"code": huge}, {"code": FETCH_TUPLE}]})
    result = json.loads(out)
    assert code == 0 and "Traceback" not in err
    assert result["decision"] == "proceed" and result["reason"] == "insufficient valid samples"
    assert result["invalid"] == [0, 1] and result["invalid_reasons"]["1"].startswith("too large")


def test_cli_clarify_missing_file(tmp_path, capsys) -> None:
    from elixir_coder_lsp import cli

    assert cli.main(["clarify", "--samples", str(tmp_path / "nope.json")]) == 2
    assert "No such file" in capsys.readouterr().err


# -- façade -------------------------------------------------------------------------------------------


def _coder(helper, **clarification):
    from elixir_coder_lsp.api import ElixirCoder
    from elixir_coder_lsp.config import parse_settings

    settings, errors = parse_settings({"clarification": clarification})
    assert errors == []
    return ElixirCoder(settings, helper=helper)


def test_facade_ask_answer_and_the_answer_reaches_generation(helper, monkeypatch) -> None:
    from elixir_coder_lsp.api import GenerationOutcome

    coder = _coder(helper, enabled=True)
    samples = [Sample(code=c) for c in (FETCH_TUPLE, FETCH_RAISE, FETCH_WITH, FETCH_RAISE, FETCH_TUPLE)]
    asked = coder.ask_clarification("Write `fetch/2` for users", samples=samples)
    assert asked["decision"] == "ask" and asked["session_id"]
    question = asked["question"]
    assert question["type"] == "error_handling" and question["allowFreeText"] is True
    prompts = []
    monkeypatch.setattr(coder, "generate", lambda prompt, **kw: prompts.append((prompt, kw)) or GenerationOutcome("generated", "ok"))
    label = question["options"][1]["label"]
    outcome = coder.answer_clarification(asked["session_id"], label)
    assert outcome.status == "generated"
    assert prompts[0][0].startswith("Write `fetch/2` for users") and f"Answer: {label}" in prompts[0][0]
    assert prompts[0][1]["entry_rule"] == "start"
    with pytest.raises(KeyError):
        coder.answer_clarification(asked["session_id"], label)  # a session answers once


def test_generate_with_clarification_paths(helper, monkeypatch) -> None:
    from elixir_coder_lsp.api import GenerationOutcome

    split = [Sample(code=c) for c in (FETCH_TUPLE, FETCH_RAISE, FETCH_WITH, FETCH_RAISE, FETCH_TUPLE)]
    agree = [Sample(code=c) for c in (FETCH_TUPLE, FETCH_WITH, FETCH_TUPLE)]
    for enabled, samples, answer, expected in [
        (False, split, "raise", ("generated", "p")),  # disabled: never asks, never samples
        (True, agree, "raise", ("generated", "p")),  # the samples agree: proceed
        (True, split, "raise an exception", ("generated", "raise an exception")),
        (True, split, None, ("clarification_needed", None)),
    ]:
        coder = _coder(helper, enabled=enabled)
        sampled, prompts, questions = [], [], []

        def fake_samples(prompt, *, _s=samples, **kw):
            sampled.append(prompt)
            return list(_s)

        monkeypatch.setattr(coder, "clarification_samples", fake_samples)
        monkeypatch.setattr(coder, "generate", lambda prompt, **kw: prompts.append(prompt) or GenerationOutcome("generated", "code"))
        outcome = coder.generate_with_clarification("p", lambda q, _a=answer: questions.append(q) or _a)
        status, needle = expected
        assert outcome.status == status
        assert bool(sampled) == enabled
        if status == "clarification_needed":
            assert outcome.question == questions[0] and prompts == []
        else:
            assert needle in prompts[0]


def test_samples_at_temperature_differ_with_distinct_seeds(tiny_model_dir, helper) -> None:
    """One batched constrained request of 5 samples at 0.8: distinct seeds, different texts, all kept."""
    from elixir_coder_lsp.api import ElixirCoder
    from elixir_coder_lsp.config import parse_settings

    settings, _ = parse_settings({
        "models": {"default": {"checkpoint": str(tiny_model_dir), "maxNewTokens": 24}},
        "clarification": {"enabled": True, "samples": 5, "temperature": 0.8},
    })
    coder = ElixirCoder(settings, helper=helper)
    try:
        samples = coder.clarification_samples("add two numbers", entry_rule="expr_seq", seed=1234)
        assert len(samples) == 5
        assert [s.seed for s in samples] == [1234 + i for i in range(5)]
        assert len({s.code for s in samples}) > 1
        assert all(s.logprob is not None for s in samples if s.num_tokens)
        # and the whole ask path on a random model: its noise never becomes a question
        asked = coder.ask_clarification("add two numbers", entry_rule="expr_seq", seed=99)
        assert asked["decision"] in ("ask", "proceed")
        if asked["decision"] == "proceed" and asked.get("reason") == "insufficient valid samples":
            assert asked["confidence"] == 0
        # the question role may rewrite the text; a random model's text is not specific, so the template stays
        split = [Sample(code=c) for c in (FETCH_TUPLE, FETCH_RAISE, FETCH_WITH, FETCH_RAISE)]
        asked = coder.ask_clarification("Write `fetch/2`", samples=split, rewrite=True)
        assert asked["question"]["question"].startswith("How should `fetch/2` report a failure")
    finally:
        coder.close()


# -- the evaluation set and the benchmark's arithmetic ---------------------------------------------------


def test_wilson_interval_hand_values() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from clarification import wilson

    assert wilson(0, 0) == (0.0, 1.0)
    low, high = wilson(36, 36)
    assert low == pytest.approx(0.9036, abs=1e-4) and high == 1.0
    low, high = wilson(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-4) and high == pytest.approx(0.7634, abs=1e-4)


def test_evaluation_set_meets_its_goals_with_the_default_thresholds(helper) -> None:
    import sys
    from collections import Counter
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from clarification import DATA, analyse, decide, load, metrics

    from elixir_coder_lsp.config import Settings

    items = load(DATA)
    kinds = Counter(i["kind"] for i in items)
    assert len(items) >= 150 and kinds["ambiguous"] >= 75 and kinds["clear"] + kinds["trap"] >= 75 and kinds["trap"] >= 25
    assert {i["type"] for i in items if i["kind"] == "ambiguous"} == {
        "error_handling", "concurrency", "data_structure", "external_dependency"}
    assert all(len(i["samples"]) >= 5 for i in items)
    cfg = Settings().clarification
    held = metrics(decide(analyse([i for i in items if i["split"] == "test"], helper), cfg.entropy_threshold, cfg.cluster_threshold))
    assert held["precision"][0] >= 0.85 and held["recall"][0] >= 0.80 and held["precision"][1] >= 0.70
    assert held["type_accuracy"][0] >= 0.80 and held["over_ask_traps"][0] <= 0.10
