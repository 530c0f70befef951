"""Program divergence: what candidate programs do, how far apart they are, and how they cluster.

The analysis half of clarification (docs/architecture.md): `extract_features` asks the Elixir helper for
a program's structural facts (the code is parsed, never run), `behaviour_features` maps them onto the
feature families below, `compute_divergence` marks invalid samples, measures pairwise distances and
clusters the rest, `semantic_entropy` measures the disagreement and `classify_ambiguity` names the
family that separates the clusters. Pure functions of the features; no model involved.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# -- feature families -------------------------------------------------------------------------------

# The four families a question can be about (docs/protocol.md `ambiguity`), then the structural ones
# that only nudge the distance: a program's public functions, attributes and modules it pulls in.
BEHAVIOUR_FAMILIES = ("error_handling", "concurrency", "data_structure", "external_dependency")
STRUCTURE_FAMILIES = ("functions", "attributes", "modules")
FAMILIES = BEHAVIOUR_FAMILIES + STRUCTURE_FAMILIES

# Weights of the per-family Jaccard distances. A whole behaviour family apart (weight 1 of 4.6) is a
# distance of 0.217, over the clustering threshold; every structural family apart together is 0.13,
# under it, so naming and layout alone never split a cluster.
FAMILY_WEIGHTS: dict[str, float] = {
    "error_handling": 1.0,
    "concurrency": 1.0,
    "data_structure": 1.0,
    "external_dependency": 1.0,
    "functions": 0.35,
    "attributes": 0.1,
    "modules": 0.15,
}
CLUSTER_DISTANCE = 0.15  # average-linkage merge threshold

# When two families separate the clusters equally, the first here wins: a process model or a library
# choice drags data-structure and error-style differences along with it, rarely the other way round.
FAMILY_PRIORITY = ("concurrency", "external_dependency", "error_handling", "data_structure")

MAX_SAMPLE_BYTES = 1_000_000

# Calls whose value is nil when the thing is missing, and calls that return tagged tuples / :error.
_NIL_CALLS = {"Map.get/2", "Keyword.get/2", "Enum.find/2", "List.first/1", "Enum.at/2", "Access.get/2"}
_TUPLE_CALLS = {
    "File.read/1", "File.write/2", "File.write/3", "Map.fetch/2", "Keyword.fetch/2", "Enum.fetch/2",
    "Jason.decode/1", "Jason.decode/2", "Jason.encode/1", "Poison.decode/1", "HTTPoison.get/1", "HTTPoison.get/2",
    "HTTPoison.get/3", "HTTPoison.post/3", "Req.get/1", "Req.get/2", "Req.post/2", "Tesla.get/2", "Finch.request/2",
    ":httpc.request/1", ":httpc.request/4", "Date.from_iso8601/1", "DateTime.from_iso8601/1", "NaiveDateTime.from_iso8601/1",
}
_REPO_TUPLE_FUNS = {"insert", "update", "delete", "insert_or_update", "transaction"}
# Non-bang functions that raise on bad input.
_RAISING_CALLS = {"String.to_integer/1", "String.to_integer/2", "String.to_float/1", "String.to_existing_atom/1",
                  "Kernel.hd/1", "Enum.fetch!/2", "Keyword.fetch!/2"}
_RAISE_LOCALS = {"raise/1", "raise/2", "reraise/2", "reraise/3", "throw/1", "exit/1"}

_CONCURRENCY_MODULES = {
    "GenServer": "genserver",
    "Agent": "agent",
    "Task": "task",
    "Task.Supervisor": "task",
    "Supervisor": "supervisor",
    "DynamicSupervisor": "supervisor",
    ":ets": "ets",
    ":dets": "ets",
    "Registry": "registry",
    ":persistent_term": "persistent_term",
    "GenStage": "genstage",
    "Flow": "genstage",
    ":gen_statem": "gen_statem",
    "GenStateMachine": "gen_statem",
}
_PROCESS_LOCALS = {"spawn/1", "spawn/3", "spawn_link/1", "spawn_link/3", "spawn_monitor/1", "send/2"}

# Map and Keyword calls that build one; reading (get, fetch, has_key?, take…) follows the input's shape.
_BUILDERS = {
    "Map": {"new", "put", "put_new", "put_new_lazy", "merge", "update", "update!", "delete", "drop", "replace",
            "replace!", "from_struct", "filter", "reject", "map"},
    "Keyword": {"new", "put", "put_new", "merge", "update", "update!", "delete", "drop", "replace", "replace!"},
}
_DATA_MODULES = {"Map": "map", "Keyword": "keyword", "MapSet": "mapset", ":queue": "queue", ":array": "array",
                 ":gb_trees": "tree", ":gb_sets": "set", "Tuple": "tuple"}
# Calls that build a map without a map literal; List's key functions work on lists of tuples.
_MAP_CALLS = {"Enum.frequencies/1", "Enum.frequencies_by/2", "Enum.group_by/2", "Enum.group_by/3", "Map.new/1", "Map.new/2"}
_TUPLE_LIST_CALLS = {"List.keyfind/3", "List.keystore/4", "List.keydelete/3", "List.keyreplace/4", "List.keymember?/3",
                     "List.keytake/3", "List.keysort/2"}

# External dependencies: a module prefix -> the dependency it stands for.
_EXTERNAL_PREFIXES: tuple[tuple[str, str], ...] = (
    ("HTTPoison", "httpoison"), ("Req", "req"), ("Tesla", "tesla"), ("Finch", "finch"), ("Mint", "mint"),
    (":httpc", "httpc"), (":hackney", "hackney"), ("Ecto", "ecto"), ("Postgrex", "postgrex"),
    ("Jason", "jason"), ("Poison", "poison"), ("File", "file"), ("System", "system_env"),
    ("Application", "app_config"), ("Redix", "redis"), ("Phoenix.PubSub", "pubsub"), ("Oban", "oban"),
    ("Swoosh", "swoosh"), ("Bamboo", "bamboo"), ("Bcrypt", "bcrypt"), ("Argon2", "argon2"), ("Pbkdf2", "pbkdf2"),
    (":crypto", "crypto"), ("NimbleCSV", "nimble_csv"), ("CSV", "csv"), ("ExAws", "ex_aws"), (":gen_tcp", "gen_tcp"),
    ("Mojito", "mojito"), ("Broadway", "broadway"), ("Cachex", "cachex"),
)
# Libraries that do the same job: two programs using different ones for one job made different
# choices, whatever else they share (HTTPoison + Jason vs :httpc + Jason differ in the HTTP client).
EXTERNAL_CATEGORIES: dict[str, frozenset[str]] = {
    "http": frozenset({"httpoison", "req", "tesla", "finch", "mint", "httpc", "hackney", "mojito"}),
    "json": frozenset({"jason", "poison"}),
    "storage": frozenset({"ecto", "postgrex", "redis", "cachex"}),
    "settings": frozenset({"system_env", "app_config"}),
    "password": frozenset({"bcrypt", "argon2", "pbkdf2", "crypto"}),
    "mail": frozenset({"swoosh", "bamboo"}),
}
_STDLIB = {
    "Enum", "Map", "List", "String", "Kernel", "Keyword", "MapSet", "Integer", "Float", "Process", "IO", "Access",
    "Stream", "Range", "Tuple", "DateTime", "Date", "Time", "NaiveDateTime", "Regex", "URI", "Base", "Path", "Calendar",
    "Code", "Macro", "Module", "Atom", "Bitwise", "Node", "Function", "Exception", "ArgumentError", "RuntimeError",
    "KeyError", "Protocol", "Port", "StringIO", "Version", "Record", "OptionParser", "Inspect", "Logger",
    "GenServer", "Agent", "Task", "Supervisor", "DynamicSupervisor", "Registry", "Task.Supervisor", "__MODULE__",
}


@dataclass
class Sample:
    """One candidate program and how it was drawn."""

    code: str
    logprob: float | None = None  # sum of token log-probabilities, when known
    mean_logprob: float | None = None  # per token; used for the likelihood-weighted entropy when present
    finish_reason: str = "stop"
    closed_tokens: int = 0
    num_tokens: int = 0
    seed: int | None = None


@dataclass
class Analysis:
    """The result of `compute_divergence` (docs/protocol.md `clarify` fields, before the decision)."""

    samples: list[Sample]
    features: list[dict[str, frozenset[str]] | None]  # per sample; None for invalid ones
    invalid: list[int]
    invalid_reasons: dict[int, str]
    clusters: list[list[int]]  # sample indices, largest cluster first
    probabilities: list[float]  # count-based share of valid samples, per cluster
    weighted_probabilities: list[float] | None  # likelihood-weighted, when every valid sample has a log-probability
    entropy: float
    weighted_entropy: float | None
    distances: list[list[float]] = field(default_factory=list)  # over valid samples, in `valid` order

    @property
    def valid(self) -> list[int]:
        """Indices of the valid samples."""
        return [i for i in range(len(self.samples)) if i not in self.invalid_reasons]

    @property
    def confidence(self) -> float:
        """The largest cluster's share of the valid samples (0 without clusters)."""
        return max(self.probabilities, default=0.0)

    def cluster_features(self, c: int, family: str) -> frozenset[str]:
        """The features of ``family`` that more than half of cluster ``c``'s samples have."""
        members = [self.features[i] for i in self.clusters[c] if self.features[i] is not None]
        counts: dict[str, int] = {}
        for feats in members:
            for f in feats.get(family, frozenset()):  # type: ignore[union-attr]
                counts[f] = counts.get(f, 0) + 1
        return frozenset(f for f, n in counts.items() if 2 * n > len(members))

    def enough_valid(self) -> bool:
        """docs/protocol.md: at least half of the samples are valid."""
        return bool(self.samples) and 2 * len(self.valid) >= len(self.samples)


# -- features ---------------------------------------------------------------------------------------


def extract_features(helper: Any, code: str) -> dict[str, Any]:
    """The helper's raw structural facts for one program (raises HelperError when it does not parse)."""
    return helper.request("clarify_features", {"code": code})


def _module_dep(module: str) -> str | None:
    for prefix, dep in _EXTERNAL_PREFIXES:
        if module == prefix or module.startswith(prefix + "."):
            return dep
    if module.endswith(".Repo") or module == "Repo":
        return "ecto"
    return None


def _split_call(call: str) -> tuple[str, str, int]:
    """'Mod.fun/2' -> ("Mod", "fun", 2); a local 'fun/1' -> ("", "fun", 1)."""
    head, _, arity = call.rpartition("/")
    mod, _, fun = head.rpartition(".")
    if mod.startswith(":") or "." in head:
        return mod, fun, int(arity or 0)
    return "", head, int(arity or 0)


def behaviour_features(raw: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """Map the helper's facts onto the feature families (sets of strings per family)."""
    counts = raw.get("counts", {})
    defined = set(raw.get("modules", []))
    remote = list(raw.get("remote_calls", []))
    guarded = set(raw.get("guarded_calls", []))
    locals_ = set(raw.get("local_calls", []))
    tails = set(raw.get("tail_calls", []))
    defs = set(raw.get("defs", []))
    uses = set(raw.get("uses", [])) | set(raw.get("behaviours", []))

    def is_defined(module: str) -> bool:
        return module in defined or any(module.startswith(d + ".") for d in defined) or module == "__MODULE__"

    # error handling: how failures reach the caller
    errors: set[str] = set()
    unguarded_remote = {c for c in remote if c not in guarded}  # calls inside `try do` are rescued
    bang_calls = any(_split_call(c)[1].endswith("!") and not is_defined(_split_call(c)[0]) for c in unguarded_remote)
    bang_defs = any(d.split("/")[0].endswith("!") for d in defs)
    if (locals_ - guarded) & _RAISE_LOCALS or unguarded_remote & _RAISING_CALLS or bang_calls or bang_defs:
        errors.add("raise")
    tails_or_passed = tails | set(raw.get("with_sources", []))
    if counts.get("error_tuples", 0) or counts.get("error_atoms", 0) or tails_or_passed & _TUPLE_CALLS or any(
        _module_dep(_split_call(t)[0]) == "ecto" and _split_call(t)[1] in _REPO_TUPLE_FUNS for t in tails
    ):
        errors.add("error_tuple")
    if counts.get("nil_results", 0) or tails & _NIL_CALLS or any(
        _module_dep(_split_call(t)[0]) == "ecto" and _split_call(t)[1] in ("get", "get_by", "one") for t in tails
    ):
        errors.add("nil")

    # concurrency: the process model
    conc: set[str] = set()
    for module in uses:
        if module in _CONCURRENCY_MODULES:
            conc.add(_CONCURRENCY_MODULES[module])
    for call in remote:
        mod, _, _ = _split_call(call)
        if mod in _CONCURRENCY_MODULES:
            conc.add(_CONCURRENCY_MODULES[mod])
    if locals_ & _PROCESS_LOCALS or counts.get("receives", 0):
        conc.add("process")
    if "genserver" in conc:  # a GenServer calling Supervisor.child_spec/2 is plumbing, not a second choice
        conc.discard("supervisor")
    served = any(_split_call(c)[0] == "GenServer" and _split_call(c)[1] in ("call", "cast", "multi_call", "abcast")
                 for c in remote) or any(d.startswith(("handle_call/", "handle_cast/")) for d in defs)
    if {"genserver", "ets"} <= conc and not served:  # it only owns the table callers use directly
        conc.discard("genserver")

    # data structures: what the program builds
    data: set[str] = set()
    if counts.get("defstructs", 0) or any(not s.startswith("__") for s in raw.get("struct_names", [])):
        data.add("struct")
    if counts.get("map_literals", 0):
        data.add("map")
    if counts.get("keyword_literals", 0):
        data.add("keyword")
    for call in remote:
        mod, fun, _ = _split_call(call)
        kind = _DATA_MODULES.get(mod)
        if kind == "keyword" and call in raw.get("option_calls", []):
            continue
        if mod in _BUILDERS and fun not in _BUILDERS[mod]:
            continue
        if kind:
            data.add(kind)
        if call in _MAP_CALLS:
            data.add("map")
        if call in _TUPLE_LIST_CALLS:
            data.add("tuple_list")
    if "ets" in conc:
        data.add("ets_table")

    # external dependencies: libraries and the outside world
    external: set[str] = set()
    for call in remote:
        mod = _split_call(call)[0]
        if is_defined(mod) or not mod:
            continue
        dep = _module_dep(mod)
        if dep:
            external.add(dep)
        elif mod.split(".")[0] not in _STDLIB and not mod.startswith(":") and mod not in _CONCURRENCY_MODULES:
            external.add("lib:" + mod)
    for module in uses:
        dep = _module_dep(module)
        if dep:
            external.add(dep)

    modules = set(raw.get("aliases", [])) | set(raw.get("imports", [])) | uses | set(raw.get("requires", []))
    return {
        "error_handling": frozenset(errors),
        "concurrency": frozenset(conc),
        "data_structure": frozenset(data),
        "external_dependency": frozenset(external),
        "functions": frozenset(defs),
        "attributes": frozenset(raw.get("attributes", [])),
        "modules": frozenset(m for m in modules if not is_defined(m)),
        "defined_modules": frozenset(defined),  # names for questions; not part of the distance
    }


# -- distances, clusters, entropy -------------------------------------------------------------------


def jaccard_distance(a: frozenset[str], b: frozenset[str]) -> float:
    """1 - |a ∩ b| / |a ∪ b|; two empty sets are at distance 0."""
    union = a | b
    return 0.0 if not union else 1.0 - len(a & b) / len(union)


def external_distance(a: frozenset[str], b: frozenset[str]) -> float:
    """The largest Jaccard distance within one job (HTTP client, JSON, storage…), or over the rest."""
    parts = [(a & members, b & members) for members in EXTERNAL_CATEGORIES.values()]
    known = frozenset().union(*EXTERNAL_CATEGORIES.values())
    parts.append((a - known, b - known))
    return max(jaccard_distance(x, y) for x, y in parts)


def family_distance(family: str, a: frozenset[str], b: frozenset[str]) -> float:
    """Distance between two programs' features in one family (Jaccard; per job for external dependencies)."""
    return external_distance(a, b) if family == "external_dependency" else jaccard_distance(a, b)


def feature_distance(a: Mapping[str, frozenset[str]], b: Mapping[str, frozenset[str]], weights: Mapping[str, float] | None = None) -> float:
    """Weighted mean of the per-family distances (0 = same behaviour and structure, 1 = nothing shared)."""
    weights = weights or FAMILY_WEIGHTS
    total = sum(weights.values())
    return sum(w * family_distance(f, a.get(f, frozenset()), b.get(f, frozenset())) for f, w in weights.items()) / total


def cluster(distances: Sequence[Sequence[float]], threshold: float = CLUSTER_DISTANCE) -> list[list[int]]:
    """Average-linkage agglomerative clustering: merge the closest pair while its mean distance ≤ threshold.

    Returns lists of positions (0..n-1), largest cluster first, ties by first member.
    """
    groups = [[i] for i in range(len(distances))]

    def linkage(g: list[int], h: list[int]) -> float:
        return sum(distances[i][j] for i in g for j in h) / (len(g) * len(h))

    while len(groups) > 1:
        best, pair = math.inf, (0, 0)
        for x in range(len(groups)):
            for y in range(x + 1, len(groups)):
                d = linkage(groups[x], groups[y])
                if d < best - 1e-12:
                    best, pair = d, (x, y)
        if best > threshold:
            break
        x, y = pair
        groups[x] = sorted(groups[x] + groups[y])
        del groups[y]
    return sorted(groups, key=lambda g: (-len(g), g[0]))


def entropy(probabilities: Iterable[float]) -> float:
    """-Σ p ln p in nats (zero terms skipped)."""
    return -sum(p * math.log(p) for p in probabilities if p > 0)


def semantic_entropy(clusters: Sequence[Sequence[int]], logprobs: Sequence[float | None] | None = None) -> tuple[float, float | None]:
    """(count-based entropy, likelihood-weighted entropy or None) over clusters of sample indices.

    The count-based value (docs/protocol.md) decides; the weighted one gives each sample the weight
    exp(logprob) (normalised over the clustered samples) and is reported beside it. ``logprobs`` is
    indexed by sample index; None when any clustered sample lacks one.
    """
    total = sum(len(c) for c in clusters)
    if total == 0:
        return 0.0, None
    counted = entropy(len(c) / total for c in clusters)
    weighted = weighted_probabilities(clusters, logprobs)
    return counted, (None if weighted is None else entropy(weighted))


def weighted_probabilities(clusters: Sequence[Sequence[int]], logprobs: Sequence[float | None] | None) -> list[float] | None:
    """Cluster probabilities with each sample weighted by exp(logprob); None when a log-probability is missing."""
    if logprobs is None:
        return None
    members = [i for c in clusters for i in c]
    if not members or any(i >= len(logprobs) or logprobs[i] is None for i in members):
        return None
    top = max(float(logprobs[i]) for i in members)  # type: ignore[arg-type]
    mass = [sum(math.exp(float(logprobs[i]) - top) for i in c) for c in clusters]  # type: ignore[arg-type]
    total = sum(mass)
    return [m / total for m in mass]


def invalid_reason(sample: Sample, max_bytes: int = MAX_SAMPLE_BYTES) -> str | None:
    """Why a sample cannot take part in clustering (docs/protocol.md), or None when it can (parse aside)."""
    if sample.finish_reason == "length":
        return "ran out of tokens"
    if sample.finish_reason in ("error", "cancelled"):
        return f"generation {sample.finish_reason}"
    if sample.closed_tokens > 0:
        return "closed by the grammar"
    if not sample.code.strip():
        return "empty"
    if len(sample.code.encode("utf-8", "replace")) > max_bytes:
        return f"too large (over {max_bytes} bytes)"
    return None


def compute_divergence(
    samples: Sequence[Sample],
    helper: Any = None,
    *,
    features: Sequence[Mapping[str, frozenset[str]] | None] | None = None,
    threshold: float = CLUSTER_DISTANCE,
    weights: Mapping[str, float] | None = None,
    require_definitions: bool = False,
) -> Analysis:
    """Mark invalid samples, extract features (with ``helper``, or take ``features``), cluster the rest.

    With ``features`` given (one mapping per sample, None for a sample that does not parse) no helper
    is needed: that is the pure path the tests and the benchmark's unit checks use.
    ``require_definitions`` (for module-level requests) also marks invalid a sample that parses but
    defines no module or function: a weak model's token soup often parses as a chain of calls.
    """
    from elixir_coder_lsp.elixir.client import HelperError

    samples = list(samples)
    reasons: dict[int, str] = {}
    feats: list[dict[str, frozenset[str]] | None] = []
    for i, sample in enumerate(samples):
        reason = invalid_reason(sample)
        found: dict[str, frozenset[str]] | None = None
        if reason is None:
            if features is not None:
                given = features[i]
                found = None if given is None else {f: frozenset(given.get(f, ())) for f in FAMILIES}
                if found is None:
                    reason = "does not parse"
            else:
                try:
                    raw = extract_features(helper, sample.code)
                    if require_definitions and not (raw.get("modules") or raw.get("defs") or raw.get("defps")):
                        reason = "defines no module or function"
                    else:
                        found = behaviour_features(raw)
                except HelperError as exc:
                    reason = "does not parse" if exc.kind == "syntax_error" else f"not analysed ({exc.kind})"
        if reason is not None:
            reasons[i] = reason
            found = None
        feats.append(found)

    valid = [i for i in range(len(samples)) if i not in reasons]
    dist = [[feature_distance(feats[i], feats[j], weights) for j in valid] for i in valid]  # type: ignore[arg-type]
    enough = bool(samples) and 2 * len(valid) >= len(samples)
    groups = [[valid[k] for k in g] for g in cluster(dist, threshold)] if valid and enough else []
    probs = [len(g) / len(valid) for g in groups]
    logprobs = [s.mean_logprob if s.mean_logprob is not None else s.logprob for s in samples]
    counted, weighted = semantic_entropy(groups, logprobs)
    return Analysis(
        samples=samples,
        features=feats,
        invalid=sorted(reasons),
        invalid_reasons=reasons,
        clusters=groups,
        probabilities=probs,
        weighted_probabilities=weighted_probabilities(groups, logprobs),
        entropy=counted,
        weighted_entropy=weighted,
        distances=dist,
    )


# -- classification ---------------------------------------------------------------------------------


def family_separation(analysis: Analysis, family: str) -> float:
    """Σ_{i<j} p_i p_j · distance of the clusters' majority features in ``family``."""
    probs = analysis.probabilities
    reps = [analysis.cluster_features(c, family) for c in range(len(analysis.clusters))]
    return sum(
        probs[i] * probs[j] * family_distance(family, reps[i], reps[j]) for i in range(len(reps)) for j in range(i + 1, len(reps))
    )


def classify_ambiguity(analysis: Analysis) -> str:
    """The behaviour family whose features separate the clusters most (FAMILY_PRIORITY breaks ties)."""
    scores = {f: family_separation(analysis, f) for f in BEHAVIOUR_FAMILIES}
    best = max(scores.values(), default=0.0)
    for family in FAMILY_PRIORITY:
        if scores.get(family, 0.0) >= best - 1e-9:
            return family
    return FAMILY_PRIORITY[0]
