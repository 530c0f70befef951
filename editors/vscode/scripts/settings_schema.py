"""Writes `contributes.configuration` of editors/vscode/package.json from elixir_coder_lsp/settings.py.

Types and defaults come from the settings dataclasses; descriptions, enums and the trust flag are
written here. `--check` exits 1 when package.json differs from what this script would write (the
node tests run it), so a setting added to settings.py without an entry here fails loudly.

    python editors/vscode/scripts/settings_schema.py [--check | --markdown]

`--markdown` prints the README's configuration reference table from the same descriptions.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from elixir_coder_lsp.config import USER_ONLY  # noqa: E402
from elixir_coder_lsp.settings import ROLES, ModelSettings, Settings  # noqa: E402

PACKAGE = Path(__file__).resolve().parents[1] / "package.json"

# Keys that run code or send code and secrets elsewhere (CONTRACT.md §1, "Trust"; the server's
# config.USER_ONLY): machine scope, and restricted in untrusted workspaces, so a repository's
# .vscode/settings.json cannot set them.
TRUST = {pattern.split(".")[-1] for pattern in USER_ONLY}

DEVICE = ["auto", "cpu", "cuda", "mps"]
SEVERITIES = ["error", "warning", "information", "hint"]
CHECK_MODES = ["auto", "builtin", "real", "off"]

# The calls each generation monitor bans (elixir_coder_lsp/inference/monitors.py).
MONITOR_CALLS = {
    "stringToAtom": "String.to_atom",
    "listToAtom": "List.to_atom",
    "codeEval": "Code.eval_string and Code.eval_quoted",
    "ioInspect": "IO.inspect",
    "dbg": "dbg",
    "osCmd": ":os.cmd",
    "binaryToTerm": ":erlang.binary_to_term/1 without [:safe]",
}

# Per key (dotted path, with the instance and role names replaced by NAME and ROLE): description, and
# the enum when the value is one of a fixed set.
DOC: dict[str, tuple[str, list[str] | None]] = {
    "trustedWorkspace": ("Run the project's own mix (real Credo and Sobelow) for analysis. Only set this for projects you trust: it runs their code.", None),
    "models.NAME.checkpoint": ("The model: a local checkpoint directory or a Hugging Face hub id that is already in the local cache (backend local), or the model name the remote server serves (backend openai).", None),
    "models.NAME.backend": ("local: a worker process on this machine runs the model. openai: a vLLM or SGLang server with an OpenAI-compatible API at url.", ["local", "openai"]),
    "models.NAME.engine": ("openai backend: which server speaks, which decides the request's grammar field. auto guesses from the server.", ["auto", "vllm", "sglang"]),
    "models.NAME.url": ("openai backend: the server's base URL, e.g. http://gpu-box:8000/v1. Your code is sent there.", None),
    "models.NAME.apiKeyEnv": ("openai backend: the name of the environment variable that holds the API key (never the key itself).", None),
    "models.NAME.device": ("Where the local worker runs the model: auto, cpu, cuda, cuda:N or mps.", None),
    "models.NAME.dtype": ("Weights' dtype: auto is bfloat16 on cuda and float32 elsewhere.", ["auto", "float32", "bfloat16", "float16"]),
    "models.NAME.maxBatchSize": ("Rows per engine step (remote backend: requests in flight).", None),
    "models.NAME.batchTimeoutMs": ("How long an idle engine waits to batch requests that arrive together, in milliseconds.", None),
    "models.NAME.maskOverlap": ("Local backend: which constrained rows get their next grammar mask filled while the model runs. auto: every on a GPU, refused on the CPU; refused: the rows refused at their previous step; off: none.", ["auto", "every", "refused", "off"]),
    "models.NAME.maxSequenceLength": ("Prompt plus output tokens, at most.", None),
    "models.NAME.maxNewTokens": ("Output tokens per sample, at most.", None),
    "models.NAME.replicas": ("Identical workers behind this instance.", None),
    "models.NAME.preload": ("Start the model worker with the server instead of on first use.", None),
    "models.NAME.roles.ROLE.template": ("The ROLE role's prompt template (empty: the built-in one).", None),
    "models.NAME.roles.ROLE.adapter": ("A PEFT/LoRA adapter directory for the ROLE role (empty: none). It is loaded and run.", None),
    "routing.default": ("The model instance a request without a name goes to.", None),
    "routing.weights": ("A/B split between instances, e.g. {\"default\": 0.9, \"candidate\": 0.1}; sticky per document. Empty: everything goes to routing.default.", None),
    "generation.candidates": ("Samples per generation request.", None),
    "generation.temperature": ("Sampling temperature for generation.", None),
    "generation.constrained": ("Decode with the Elixir grammar, so every sample parses.", None),
    "generation.maxRepairAttempts": ("How many times the repair loop may send a candidate with findings back to the model.", None),
    "generation.cleanThreshold": ("Findings at or above this severity make a result not clean.", SEVERITIES),
    "generation.format": ("Format generated code with the project's .formatter.exs line length.", None),
    "generation.preview": ("Let the user pick among the checked candidates instead of inserting the best one.", None),
    "generation.monitors.MONITOR": ("While decoding (local backend), ban the tokens that would complete MONITOR, so generated code cannot contain it.", None),
    "inline.enabled": ("Offer inline completions (textDocument/inlineCompletion).", None),
    "inline.maxNewTokens": ("Tokens per inline completion, at most.", None),
    "inline.debounceMs": ("Wait this long after typing before asking for an inline completion, in milliseconds.", None),
    "inline.inStringsAndComments": ("Offer inline completions inside strings and comments too.", None),
    "inline.asCompletionItem": ("Also offer the inline completion as a completion item (for clients without inline support).", None),
    "clarification.enabled": ("Ask a clarifying question when the model's samples disagree about what the request means.", None),
    "clarification.samples": ("Samples drawn to decide whether to ask.", None),
    "clarification.temperature": ("Sampling temperature for those samples.", None),
    "clarification.entropyThreshold": ("Ask when the entropy (nats) of the samples' behaviour clusters is above this.", None),
    "clarification.clusterThreshold": ("Ask when there are at least this many behaviour clusters.", None),
    "clarification.maxQuestions": ("Clarifying questions per request, at most (0: never ask).", None),
    "checks.credo": ("Credo-style checks: auto (the project's Credo when trusted, else built-in rules), builtin, real (the project's mix credo) or off.", CHECK_MODES),
    "checks.sobelow": ("Sobelow-style security checks: auto, builtin, real (the project's mix sobelow) or off.", CHECK_MODES),
    "checks.onChangeDebounceMs": ("Wait this long after an edit before checking the document again, in milliseconds.", None),
    "checks.exclude": ("Glob patterns of files not to check.", None),
    "checks.severity.credoError": ("Credo findings with at least this priority are errors.", None),
    "checks.severity.credoWarning": ("Credo findings with at least this priority are warnings.", None),
    "checks.severity.credoInformation": ("Credo findings with at least this priority are information (lower: hints).", None),
    "explanations.useModel": ("Add a model-written paragraph to a finding's explanation on a later hover.", None),
    "limits.maxDocumentBytes": ("Larger documents get one diagnostic saying so instead of an analysis.", None),
    "limits.maxLineBytes": ("Documents with a longer line get one diagnostic saying so instead of an analysis.", None),
    "limits.maxNesting": ("Documents nested more deeply get one diagnostic saying so instead of an analysis.", None),
    "log.level": ("Server log level.", ["debug", "info", "warning", "error"]),
    "log.file": ("Server log file (empty: standard error, which VS Code shows in the output channel).", None),
}

# Keys of the extension itself; they are never sent to the server.
CLIENT_KEYS: dict[str, dict[str, Any]] = {
    "serverPath": {
        "type": "string",
        "default": "elixir-coder-lsp",
        "description": "The server executable, started with the stdio transport. It is run: set it in user settings only.",
        "scope": "machine",
    },
    "serverArgs": {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "Arguments after serverPath, e.g. [\"-m\", \"elixir_coder_lsp\"] when serverPath is a Python interpreter.",
        "scope": "machine",
    },
    "instances": {
        "type": "object",
        "default": {},
        "description": "More named model instances beside models.default, NAME -> the same keys as models.default (e.g. {\"candidate\": {\"checkpoint\": \"/models/new\"}}). Sent to the server as models.NAME.",
        "scope": "machine",
        "additionalProperties": {"type": "object"},
    },
}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def leaves(obj: Any, prefix: str) -> list[tuple[str, Any]]:
    """(dotted camelCase path, default) for every setting below a settings dataclass."""
    out: list[tuple[str, Any]] = []
    for f in dataclasses.fields(obj):
        path = f"{prefix}{camel(f.name)}"
        value = getattr(obj, f.name)
        kind = f.metadata.get("kind")
        if path == "clientUi":
            continue  # initializationOptions only; the extension sets it
        if kind == "models":
            out += leaves(ModelSettings(), f"{path}.default.")
        elif kind == "roles":
            for role in ROLES:
                out += leaves(value[role], f"{path}.{role}.")
        elif kind == "monitors":
            out += [(f"{path}.{m}", on) for m, on in value.items()]
        elif dataclasses.is_dataclass(value):
            out += leaves(value, f"{path}.")
        else:
            out.append((path, value))
    return out


def doc_key(path: str) -> tuple[str, dict[str, str]]:
    """The DOC key for a path, and the names it replaced."""
    parts = path.split(".")
    names: dict[str, str] = {}
    if parts[0] == "models":
        names["NAME"], parts[1] = parts[1], "NAME"
        if len(parts) > 3 and parts[2] == "roles":
            names["ROLE"], parts[3] = parts[3], "ROLE"
    if parts[:2] == ["generation", "monitors"] and len(parts) == 3:
        names["MONITOR"], parts[2] = parts[2], "MONITOR"
    return ".".join(parts), names


def properties() -> dict[str, Any]:
    props: dict[str, Any] = {f"elixirCoder.{k}": v for k, v in CLIENT_KEYS.items()}
    missing = []
    for path, default in leaves(Settings(), ""):
        key, names = doc_key(path)
        if key not in DOC:
            missing.append(path)
            continue
        text, enum = DOC[key]
        for placeholder, name in names.items():
            text = text.replace(placeholder, MONITOR_CALLS.get(name, name) if placeholder == "MONITOR" else name)
        prop: dict[str, Any] = {"type": json_type(default), "default": default, "description": text}
        if isinstance(default, list):
            prop["items"] = {"type": "string"}
        if enum:
            prop["enum"] = enum
        if path.split(".")[-1] in TRUST:
            prop["scope"] = "machine"
        props[f"elixirCoder.{path}"] = prop
    if missing:
        sys.exit("settings_schema.py: no description for " + ", ".join(missing))
    return props


def render(package: dict[str, Any]) -> str:
    props = properties()
    package["contributes"]["configuration"] = {"title": "Elixir Coder", "properties": props}
    restricted = [k for k, v in props.items() if v.get("scope") == "machine"]
    package["capabilities"]["untrustedWorkspaces"] = {
        "supported": "limited",
        "description": "In an untrusted workspace the server is started from user settings only, and the settings that run code or send it elsewhere come from user settings only.",
        "restrictedConfigurations": restricted,
    }
    return json.dumps(package, indent=2, ensure_ascii=False) + "\n"


def markdown() -> str:
    """The configuration reference: one row per setting (the default instance stands for models.NAME)."""
    rows = ["| Setting | Default | Meaning |", "|---|---|---|"]
    for key, prop in properties().items():
        if key.removeprefix("elixirCoder.") in CLIENT_KEYS:
            continue
        path = key.removeprefix("elixirCoder.").replace("models.default.", "models.NAME.")
        if ".roles." in path and not path.split(".roles.")[1].startswith("generate."):
            continue  # one row per role key, below
        path = path.replace("roles.generate.", "roles.ROLE.")
        meaning = prop["description"].replace("The generate role's", "A role's").replace("the generate role", "a role")
        if ".roles.ROLE." in path:
            meaning += " ROLE: generate, question, explain or repair."
        if "enum" in prop:
            meaning += " One of " + ", ".join(f"`{v}`" for v in prop["enum"]) + "."
        if prop.get("scope") == "machine":
            meaning += " A user-level setting (CONTRACT.md §1, Trust)."
        rows.append(f"| `{path}` | `{json.dumps(prop['default'])}` | {meaning.replace('|', '/')} |")
    return "\n".join(rows) + "\n"


def main() -> int:
    if "--markdown" in sys.argv:
        sys.stdout.write(markdown())
        return 0
    current = PACKAGE.read_text(encoding="utf-8")
    wanted = render(json.loads(current))
    if "--check" in sys.argv:
        if wanted != current:
            print("editors/vscode/package.json is out of date: run python editors/vscode/scripts/settings_schema.py", file=sys.stderr)
            return 1
        return 0
    PACKAGE.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
