"""Clarifying questions: what kind of ambiguity the clusters show, one question per kind, EVPI ranking.

Options always come from the clusters (docs/protocol.md): each option names the clusters whose programs
make that choice, and every valid cluster belongs to exactly one option. The question's text comes
from a template filled with names from the prompt; the model may rewrite the text only, and only a
specific, answerable rewrite is kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from elixir_coder_lsp.inference.divergence import (
    BEHAVIOUR_FAMILIES,
    FAMILY_PRIORITY,
    Analysis,
    entropy,
    family_separation,
)

MAX_OPTIONS = 4  # beyond this the least likely groups share an "Other" option

# Feature -> how an option describes it, per family; the order is the order in a label.
PHRASES: dict[str, dict[str, str]] = {
    "error_handling": {
        "error_tuple": "return `{:ok, value}` / `{:error, reason}`",
        "nil": "return `nil`",
        "raise": "raise an exception",
    },
    "concurrency": {
        "genserver": "a GenServer",
        "agent": "an Agent",
        "ets": "an ETS table",
        "task": "Tasks",
        "supervisor": "a Supervisor",
        "registry": "a Registry",
        "persistent_term": "`:persistent_term`",
        "process": "plain processes (`spawn`/`send`/`receive`)",
        "genstage": "GenStage",
        "gen_statem": "`:gen_statem`",
    },
    "data_structure": {
        "struct": "a struct",
        "map": "a map",
        "keyword": "a keyword list",
        "mapset": "a MapSet",
        "tuple": "tuples",
        "tuple_list": "a list of `{key, value}` tuples",
        "queue": "`:queue`",
        "array": "`:array`",
        "tree": "`:gb_trees`",
        "set": "`:gb_sets`",
        "ets_table": "an ETS table",
    },
    "external_dependency": {
        "httpoison": "HTTPoison", "req": "Req", "tesla": "Tesla", "finch": "Finch", "mint": "Mint",
        "httpc": "Erlang's `:httpc`", "hackney": "`:hackney`", "ecto": "an Ecto repo", "postgrex": "Postgrex",
        "jason": "Jason", "poison": "Poison", "file": "files on disk", "system_env": "environment variables",
        "app_config": "application config", "redis": "Redis (Redix)", "pubsub": "Phoenix.PubSub", "oban": "Oban",
        "swoosh": "Swoosh", "bamboo": "Bamboo", "bcrypt": "Bcrypt", "argon2": "Argon2", "pbkdf2": "Pbkdf2",
        "crypto": "Erlang's `:crypto`", "nimble_csv": "NimbleCSV", "csv": "CSV", "ex_aws": "ExAws",
        "gen_tcp": "`:gen_tcp`", "mojito": "Mojito", "broadway": "Broadway", "cachex": "Cachex",
    },
}
EMPTY_PHRASE = {
    "error_handling": "no special failure handling",
    "concurrency": "no process (plain functions)",
    "data_structure": "plain lists",
    "external_dependency": "no external library",
}
TEMPLATES = {
    "error_handling": "How should {name} report a failure: {choices}?",
    "concurrency": "How should {name} hold its state and run concurrently: {choices}?",
    "data_structure": "Which data structure should {name} use: {choices}?",
    "external_dependency": "Which library or resource should {name} use: {choices}?",
}
# Words that name a choice, per feature: a model-written question must mention two options' words.
_CHOICE_WORDS: dict[str, tuple[str, ...]] = {
    "error_tuple": ("{:error", ":error", "tuple", "ok/error"), "nil": ("nil",), "raise": ("raise", "exception", "bang"),
    "genserver": ("genserver",), "agent": ("agent",), "ets": ("ets",), "task": ("task",), "supervisor": ("supervisor",),
    "registry": ("registry",), "persistent_term": ("persistent_term",), "process": ("spawn", "process", "receive"),
    "struct": ("struct",), "map": ("map",), "keyword": ("keyword",), "mapset": ("mapset", "set"), "tuple": ("tuple",), "tuple_list": ("tuple",),
    "queue": ("queue",), "ets_table": ("ets",), "ecto": ("ecto", "repo", "database"), "file": ("file",),
    "system_env": ("environment", "env"), "app_config": ("config",), "httpc": ("httpc",), "redis": ("redis",),
}


@dataclass
class Option:
    """One answer: a label and the clusters (indices into analysis.clusters) that make this choice."""

    label: str
    clusters: list[int]
    features: frozenset[str] = frozenset()
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        """docs/protocol.md option shape."""
        return {"label": self.label, "clusters": list(self.clusters)}


@dataclass
class Question:
    """A clarifying question about one feature family."""

    type: str
    text: str
    options: list[Option]
    evpi: float = 0.0
    info_gain: float = 0.0
    template_text: str = ""
    separation: float = 0.0
    allow_free_text: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """docs/protocol.md question shape (plus its type)."""
        return {
            "text": self.text,
            "type": self.type,
            "options": [o.to_json() for o in self.options],
            "evpi": round(self.evpi, 6),
        }

    def option_for(self, answer: str) -> Option | None:
        """The option whose label is ``answer`` (case- and space-insensitive), or None for free text."""
        key = " ".join(answer.split()).lower()
        for option in self.options:
            if " ".join(option.label.split()).lower() == key:
                return option
        return None


# -- EVPI -------------------------------------------------------------------------------------------


def evpi(probabilities: Sequence[float], groups: Iterable[Iterable[int]]) -> float:
    """EVPI(q) = Σ_g max_{c∈g} p_c − max_c p_c for a partition of clusters into answer groups."""
    if not probabilities:
        return 0.0
    return sum(max((probabilities[c] for c in g), default=0.0) for g in groups) - max(probabilities)


def information_gain(probabilities: Sequence[float], groups: Iterable[Iterable[int]]) -> float:
    """H(C) − Σ_g P(g) H(C|g): how much an answer tells about which cluster is meant (nats)."""
    total = entropy(probabilities)
    rest = 0.0
    for g in groups:
        pg = sum(probabilities[c] for c in g)
        if pg > 0:
            rest += pg * entropy(probabilities[c] / pg for c in g)
    return total - rest


def rank_evpi(questions: Sequence[Question], analysis: Analysis) -> list[Question]:
    """Questions with evpi and info_gain filled in, best first (EVPI, then information gain, then type priority)."""
    probs = analysis.probabilities
    for q in questions:
        groups = [o.clusters for o in q.options]
        q.evpi = evpi(probs, groups)
        q.info_gain = information_gain(probs, groups)
    order = {f: i for i, f in enumerate(FAMILY_PRIORITY)}
    return sorted(
        questions,
        key=lambda q: (-round(q.evpi, 9), -round(q.info_gain, 9), -round(q.separation, 9), order.get(q.type, 99)),
    )


# -- building questions -----------------------------------------------------------------------------


def describe(family: str, features: frozenset[str]) -> str:
    """An option label for a cluster group's features in ``family``."""
    phrases = PHRASES.get(family, {})
    parts = [phrase for feature, phrase in phrases.items() if feature in features]
    parts += sorted(f.split(":", 1)[1] for f in features if f.startswith("lib:"))
    parts += sorted(f for f in features if f not in phrases and not f.startswith("lib:"))
    if not parts:
        return EMPTY_PHRASE.get(family, "none of these")
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def partition(analysis: Analysis, family: str, max_options: int = MAX_OPTIONS) -> list[Option]:
    """Clusters grouped by their majority features in ``family``: every cluster in exactly one option."""
    groups: dict[frozenset[str], list[int]] = {}
    for c in range(len(analysis.clusters)):
        groups.setdefault(analysis.cluster_features(c, family), []).append(c)
    probs = analysis.probabilities
    ordered = sorted(groups.items(), key=lambda kv: (-sum(probs[c] for c in kv[1]), kv[1][0]))
    options = [Option(describe(family, feats), sorted(cs), feats) for feats, cs in ordered]
    if len(options) > max_options:
        rest = options[max_options - 1 :]
        options = options[: max_options - 1] + [
            Option("Other: " + "; ".join(o.label for o in rest), sorted(c for o in rest for c in o.clusters))
        ]
    return options


_BACKTICKED = re.compile(r"`([^`\n]{1,80})`")
_NAME_ARITY = re.compile(r"\b([a-z_][a-zA-Z0-9_]*[?!]?/\d)\b")
_MODULE = re.compile(r"\b([A-Z][a-zA-Z0-9]*(?:\.[A-Z][a-zA-Z0-9]*)+|[A-Z][a-z0-9]+[A-Z][a-zA-Z0-9]*)\b")
_PROCESS_WORDS = {"GenServer", "GenStage", "DynamicSupervisor", "PubSub"}
_CALLBACKS = {"init/1", "handle_call/3", "handle_cast/2", "handle_info/2", "start_link/0", "start_link/1",
              "child_spec/1", "terminate/2", "code_change/3"}


def subject_name(prompt: str, analysis: Analysis | None = None, family: str = "") -> str:
    """What the question is about: a name from the prompt that the samples define, else one the prompt
    mentions, else the samples' main module (for a process model) or main public function."""
    defs: dict[str, int] = {}
    modules: dict[str, int] = {}
    for feats in analysis.features if analysis is not None else []:
        for d in (feats or {}).get("functions", frozenset()):
            if d not in _CALLBACKS:
                defs[d] = defs.get(d, 0) + 1
        for m in (feats or {}).get("defined_modules", frozenset()):
            modules[m] = modules.get(m, 0) + 1
    names = [m.group(1) for m in _BACKTICKED.finditer(prompt)] + [m.group(1) for m in _NAME_ARITY.finditer(prompt)]
    module_names = [m.group(1) for m in _MODULE.finditer(prompt) if m.group(1) not in _PROCESS_WORDS]
    # a process model belongs to a module; other choices to a function
    names = module_names + names if family == "concurrency" else names + module_names
    by_name = {d.split("/")[0]: d for d in defs}
    for name in names:
        bare = name.strip().removesuffix("()")
        if bare in defs or bare in modules:
            return f"`{bare}`"
        if bare in by_name:
            return f"`{by_name[bare]}`"
    if names:
        return f"`{names[0].strip()}`"
    pool = modules if (family == "concurrency" and modules) or not defs else defs
    if pool:
        return f"`{max(sorted(pool), key=lambda k: pool[k])}`"
    return "the code"


def _choices(options: Sequence[Option]) -> str:
    labels = [o.label for o in options]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


def build_questions(analysis: Analysis, prompt: str = "", max_options: int = MAX_OPTIONS) -> list[Question]:
    """One template question per behaviour family that separates the clusters, ranked by EVPI."""
    questions: list[Question] = []
    for family in BEHAVIOUR_FAMILIES:
        separation = family_separation(analysis, family)
        options = partition(analysis, family, max_options)
        if len(options) < 2:
            continue
        text = TEMPLATES[family].format(name=subject_name(prompt, analysis, family), choices=_choices(options))
        questions.append(Question(family, text, options, template_text=text, separation=separation))
    return rank_evpi(questions, analysis)


# -- model rewrites of the text ---------------------------------------------------------------------


def acceptable_rewrite(text: str, question: Question) -> bool:
    """A rewrite is kept only when it is one specific, answerable question naming two of the choices."""
    text = text.strip()
    if not text.endswith("?") or len(text) > 300 or text.count("?") > 1 or "\n" in text:
        return False
    lower = text.lower()
    named = 0
    for option in question.options:
        words = {w.lower() for f in option.features for w in _CHOICE_WORDS.get(f, (f.split(":")[-1],))}
        words |= {w.strip("`").lower() for w in option.label.split() if len(w.strip("`")) > 3}
        if any(w and w in lower for w in words):
            named += 1
    return named >= min(2, len(question.options))


def rewrite_prompt(question: Question, prompt: str) -> str:
    """The request text for the model's `question` role: type, choices and the template to improve."""
    choices = "; ".join(o.label for o in question.options)
    return (
        f"{prompt.strip()}\n\nThe candidate programs disagree about {question.type.replace('_', ' ')}: {choices}.\n"
        f"Rewrite this question so a developer can answer it in one word, keeping the choices: {question.template_text}"
    )


def rewrite_text(question: Question, prompt: str, ask_model: Callable[[str], str] | None) -> Question:
    """Let the model rewrite the question's text; keep the template's text unless the rewrite is acceptable."""
    if ask_model is None:
        return question
    try:
        text = (ask_model(rewrite_prompt(question, prompt)) or "").strip().splitlines()
    except Exception:  # noqa: BLE001 - the model is optional here; the template text stands
        return question
    candidate = text[0].strip() if text else ""
    if acceptable_rewrite(candidate, question):
        question.text = candidate
        question.extra["rewritten"] = True
    return question
