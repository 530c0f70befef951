"""Settings: validation of the schema in settings.py, its messages, and its sources in precedence order.

Validation never raises: each bad or unknown key becomes one readable message
naming its dotted camelCase path, and the value from a lower layer (or the built-in default) is used.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

from elixir_coder_lsp.settings import (
    MONITORS,
    NESTED,
    ROLES,
    SECTION,
    ModelSettings,
    RoleSettings,
    Settings,
    SeveritySettings,
    bool_check,
    fields_by_key,
    number_check,
    to_camel,
)

ENV_MODEL = "ELIXIR_CODER_MODEL"
WORKSPACE_FILE = ".elixir-coder.toml"

log = logging.getLogger(__name__)

# Keys a repository must not set for itself: running its own `mix`, where the user's code and an API
# key go, and which weights load. The workspace file (a cloned repository's `.elixir-coder.toml`) may not
# set them; every user-level source may. "*" matches any one name.
USER_ONLY: tuple[str, ...] = (
    "trustedWorkspace",
    "models.*.checkpoint",
    "models.*.url",
    "models.*.apiKeyEnv",
    "models.*.roles.*.adapter",
)

# Keys the schema accepts although no code path reads them yet: setting one gets a note instead of
# silence. An entry goes when its feature lands.
NOT_USED_YET: dict[str, str] = {
}
_noted: set[str] = set()


# --- names and display -------------------------------------------------------------------------


def _show(value: Any) -> str:
    """A value as the user wrote it (TOML/JSON spelling), cut short."""
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    elif isinstance(value, float) and value.is_integer():
        text = repr(value)
    else:
        try:
            text = json.dumps(value, default=str)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --- validation: raw camelCase dict -> cleaned camelCase dict + problems -------------------------


@dataclass(frozen=True)
class _Problem:
    path: str  # dotted camelCase path
    text: str  # "expected ..., got ..." or "" for an unknown key
    unknown: bool = False
    ignored: bool = False  # the value is dropped rather than replaced
    hint: str = ""  # a close known key, for unknown ones


def _unknown(path: str, key: str, known: list[str]) -> _Problem:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6) or difflib.get_close_matches(
        to_camel(key), known, n=1, cutoff=0.6
    )
    return _Problem(_join(path, key), "", unknown=True, hint=_join(path, close[0]) if close else "")


def _clean_obj(cls: type, raw: Any, path: str, out: list[_Problem]) -> dict[str, Any]:
    """Keep the valid keys of ``raw`` for dataclass ``cls``; record a problem for every other key."""
    if not isinstance(raw, Mapping):
        out.append(_Problem(path or SECTION, f"expected a table of settings, got {_show(raw)}", ignored=not path))
        return {}
    known = fields_by_key(cls)
    clean: dict[str, Any] = {}
    for key, value in raw.items():
        key = str(key)
        f = known.get(key)
        where = _join(path, key)
        if f is None:
            out.append(_unknown(path, key, list(known)))
            continue
        kind = f.metadata.get("kind")
        if kind == "models":
            if isinstance(value, Mapping):
                clean[key] = {}
                for name, inst in value.items():
                    if isinstance(inst, Mapping):
                        clean[key][str(name)] = _clean_obj(ModelSettings, inst, _join(where, str(name)), out)
                    else:
                        out.append(_Problem(_join(where, str(name)), f"expected a table of model settings, got {_show(inst)}", ignored=True))
            else:
                out.append(_Problem(where, f"expected a table of named model instances, got {_show(value)}"))
        elif kind == "roles":
            clean[key] = _clean_keyed(value, where, ROLES, lambda v, p: _clean_obj(RoleSettings, v, p, out), out)
        elif kind == "monitors":
            clean[key] = _clean_keyed(value, where, MONITORS, lambda v, p: _checked(bool_check(), v, p, out), out)
        elif kind == "weights":
            clean[key] = _clean_weights(value, where, out)
        elif f.name in NESTED:
            clean[key] = _clean_obj(NESTED[f.name], value, where, out)
        else:
            checked = _checked(f.metadata["check"], value, where, out)
            if checked is not _BAD:
                clean[key] = checked
    return clean


_BAD = object()


def _checked(check: Callable[[Any], tuple[Any, str | None]], value: Any, where: str, out: list[_Problem]) -> Any:
    ok, err = check(value)
    if err is not None:
        out.append(_Problem(where, f"{err}, got {_show(value)}"))
        return _BAD
    return ok


def _clean_keyed(
    value: Any, where: str, names: tuple[str, ...], clean_one: Callable[[Any, str], Any], out: list[_Problem]
) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        out.append(_Problem(where, f"expected a table with keys {' | '.join(names)}, got {_show(value)}"))
        return {}
    result: dict[str, Any] = {}
    for name, v in value.items():
        name = str(name)
        if name not in names:
            out.append(_unknown(where, name, list(names)))
            continue
        cleaned = clean_one(v, _join(where, name))
        if cleaned is not _BAD:
            result[name] = cleaned
    return result


def _clean_weights(value: Any, where: str, out: list[_Problem]) -> dict[str, float]:
    if not isinstance(value, Mapping):
        out.append(_Problem(where, f"expected a table of instance = weight, got {_show(value)}"))
        return {}
    result: dict[str, float] = {}
    for name, w in value.items():
        checked = _checked(number_check(0), w, _join(where, str(name)), out)
        if checked is not _BAD:
            result[str(name)] = checked
    return result


# --- building dataclasses from a cleaned dict ---------------------------------------------------


def _build(cls: type, data: Mapping[str, Any]) -> Any:
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        key = to_camel(f.name)
        if key not in data:
            continue
        value = data[key]
        kind = f.metadata.get("kind")
        if kind == "models":
            models = {name: _build(ModelSettings, inst) for name, inst in value.items()}
            models.setdefault("default", ModelSettings())
            kwargs[f.name] = models
        elif kind == "roles":
            kwargs[f.name] = {r: _build(RoleSettings, value.get(r, {})) for r in ROLES}
        elif kind == "monitors":
            kwargs[f.name] = {m: value.get(m, True) for m in MONITORS}
        elif kind == "weights":
            kwargs[f.name] = dict(value)
        elif f.name in NESTED:
            kwargs[f.name] = _build(NESTED[f.name], value)
        else:
            kwargs[f.name] = value
    return cls(**kwargs)


def _effective(settings: Settings, path: str) -> Any:
    """The value a dotted camelCase path has in ``settings`` (for 'using X' in messages)."""
    node: Any = settings
    for part in path.split("."):
        if isinstance(node, Mapping):
            if part not in node:
                return MISSING
            node = node[part]
            continue
        by_key = {to_camel(f.name): f.name for f in fields(node)} if is_dataclass(node) else {}
        if part not in by_key:
            return MISSING
        node = getattr(node, by_key[part])
    return node


def _message(p: _Problem, settings: Settings, prefix: str = "") -> str:
    if p.unknown:
        hint = f" (did you mean {p.hint}?)" if p.hint else ""
        return f"{prefix}unknown setting {p.path}{hint}"
    used = MISSING if p.ignored else _effective(settings, p.path)
    if used is MISSING:
        tail = "ignored"
    elif is_dataclass(used) or isinstance(used, Mapping):
        tail = "using the defaults"
    else:
        tail = f"using {_show(used)}"
    return f"{prefix}{p.path}: {p.text}; {tail}"


def _cross_checks(settings: Settings) -> list[str]:
    """Checks that span keys: routing names real instances, thresholds are ordered, openai has a url."""
    msgs: list[str] = []
    names = set(settings.models)
    routing = settings.routing
    if routing.default not in names:
        msgs.append(
            f"routing.default: no model instance named {_show(routing.default)} "
            f"(instances: {', '.join(sorted(names))}); using 'default'"
        )
        routing.default = "default"
    for name in list(routing.weights):
        if name not in names:
            msgs.append(f"routing.weights.{name}: no model instance named {_show(name)}; ignored")
            del routing.weights[name]
    if routing.weights and sum(routing.weights.values()) <= 0:
        msgs.append("routing.weights: all weights are 0; ignored (everything goes to routing.default)")
        routing.weights = {}
    sev = settings.checks.severity
    if not (sev.credo_error >= sev.credo_warning >= sev.credo_information):
        msgs.append(
            "checks.severity: expected credoError >= credoWarning >= credoInformation, got "
            f"{sev.credo_error} / {sev.credo_warning} / {sev.credo_information}; using 20 / 10 / 0"
        )
        settings.checks.severity = SeveritySettings()
    for name, model in settings.models.items():
        if model.backend == "openai" and not model.url:
            msgs.append(f"models.{name}.url: the openai backend needs a url (e.g. http://host:8000/v1)")
    return msgs


def _note_unused(label: str, layer: Mapping[str, Any]) -> None:
    """Log once per process, for each key of NOT_USED_YET a layer sets, that nothing reads it yet."""
    for path, why in NOT_USED_YET.items():
        node: Any = layer
        for part in path.split("."):
            node = node.get(part, MISSING) if isinstance(node, Mapping) else MISSING
        if node is MISSING or f"{label}{path}" in _noted:
            continue
        _noted.add(f"{label}{path}")
        log.warning("%s%s is not used yet (%s)", label, path, why)


def strip_user_only(raw: Any, patterns: tuple[str, ...] = USER_ONLY) -> tuple[Any, list[str]]:
    """``raw`` without the keys matching ``patterns`` (dotted camelCase, ``*`` = any name), and their paths."""
    removed: list[str] = []

    def walk(node: Any, parts: list[str], path: str) -> Any:
        if not isinstance(node, Mapping):
            return node
        head, rest = parts[0], parts[1:]
        out: dict[str, Any] = {}
        for key, value in node.items():
            key_s = str(key)
            if head != "*" and key_s != head:
                out[key] = value
            elif not rest:
                removed.append(_join(path, key_s))
            else:
                out[key] = walk(value, rest, _join(path, key_s))
        return out

    for pattern in patterns:
        raw = walk(raw, pattern.split("."), "")
    return raw, removed


# --- public API ---------------------------------------------------------------------------------


def unwrap_section(raw: Any) -> Any:
    """Accept the LSP section bare or wrapped as ``{"elixirCoder": {...}}`` (or a one-item
    `workspace/configuration` result list); a null section means no settings."""
    if isinstance(raw, list) and len(raw) == 1:
        raw = raw[0]
    if raw is None:
        return {}
    if isinstance(raw, Mapping) and SECTION in raw:
        section = raw[SECTION]
        return {} if section is None else section
    return raw


def merge(*layers: Mapping[str, Any] | None) -> dict[str, Any]:
    """Deep-merge raw camelCase dicts; later layers win, tables merge key by key."""
    result: dict[str, Any] = {}
    for layer in layers:
        if not layer:
            continue
        for key, value in layer.items():
            if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
                result[key] = merge(result[key], value)
            elif isinstance(value, Mapping):
                result[key] = merge(value)
            else:
                result[key] = value
    return result


def parse_settings(raw: Mapping[str, Any] | None) -> tuple[Settings, list[str]]:
    """Validate one raw camelCase dict into :class:`Settings`; bad keys get defaults and a message."""
    problems: list[_Problem] = []
    clean = _clean_obj(Settings, unwrap_section(raw or {}), "", problems)
    settings = _build(Settings, clean)
    msgs = [_message(p, settings) for p in problems]
    return settings, msgs + _cross_checks(settings)


def to_camel_dict(settings: Any) -> Any:
    """Settings (or any part of it) as a camelCase dict, for display and `workspace/configuration` echo."""
    if is_dataclass(settings):
        return {to_camel(f.name): to_camel_dict(getattr(settings, f.name)) for f in fields(settings)}
    if isinstance(settings, Mapping):
        return {k: to_camel_dict(v) for k, v in settings.items()}
    if isinstance(settings, list):
        return [to_camel_dict(v) for v in settings]
    return settings


def default_user_config_path(env: Mapping[str, str] | None = None) -> Path:
    """`$XDG_CONFIG_HOME/elixir-coder/config.toml`, falling back to `~/.config`."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or ""
    if not base:
        home = env.get("HOME") or str(Path.home())
        base = str(Path(home) / ".config")
    return Path(base) / "elixir-coder" / "config.toml"


def read_toml(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """Read one TOML settings file: (data, None), (None, None) when absent, or (None, error)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None, None
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"{path}: cannot read settings file ({exc}); file ignored"
    try:
        return tomllib.loads(text), None
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"at line (\d+)", str(exc))
        where = f"{path}:{match.group(1)}" if match else str(path)
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        return None, f"{where}: not valid TOML ({reason}); file ignored"


def load_settings(
    *,
    workspace_root: str | os.PathLike[str] | None = None,
    init_options: Mapping[str, Any] | None = None,
    client_settings: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    user_config_path: str | os.PathLike[str] | None = None,
    config_file: str | os.PathLike[str] | None = None,
) -> tuple[Settings, list[str]]:
    """Settings from every source, lowest first: defaults < env < user file < workspace file <
    `--config` file < initializationOptions < workspace/configuration. Never raises.

    The workspace file is the repository's, not the user's: the keys of ``USER_ONLY`` are ignored there
    with one message naming them."""
    env = os.environ if env is None else env
    msgs: list[str] = []
    layers: list[tuple[str, Mapping[str, Any]]] = []

    model = env.get(ENV_MODEL)
    if model:
        layers.append((f"{ENV_MODEL}: ", {"models": {"default": {"checkpoint": model}}}))

    user_path = Path(user_config_path) if user_config_path is not None else default_user_config_path(env)
    workspace_path = Path(workspace_root) / WORKSPACE_FILE if workspace_root is not None else None
    for path, required, from_repository in (
        (user_path, False, False),
        (workspace_path, False, True),
        (Path(config_file) if config_file is not None else None, True, False),  # named by the user: theirs
    ):
        if path is None:
            continue
        data, err = read_toml(path)
        if err:
            msgs.append(err)
        elif data is None and required:
            msgs.append(f"{path}: settings file not found; ignored")
        elif data is not None:
            if from_repository:
                data, removed = strip_user_only(data)
                if removed:
                    msgs.append(
                        f"{path}: ignored {', '.join(removed)}: a repository's own settings file may not set "
                        "these (they run its code, choose where your code and API keys go, or which weights "
                        "load); set them in your user settings instead"
                    )
            layers.append((f"{path}: ", data))

    if init_options is not None:
        layers.append(("initializationOptions: ", unwrap_section(init_options)))
    if client_settings is not None:
        layers.append(("workspace/configuration: ", unwrap_section(client_settings)))

    # Each layer is validated on its own so a bad value falls back to the layer below it and the
    # message can say where the bad value came from.
    cleaned: list[dict[str, Any]] = []
    problems: list[tuple[str, _Problem]] = []
    for label, raw in layers:
        found: list[_Problem] = []
        if label != "initializationOptions: " and isinstance(raw, Mapping) and "clientUi" in raw:
            found.append(_Problem("clientUi", "only read from initializationOptions", ignored=True))
            raw = {k: v for k, v in raw.items() if k != "clientUi"}
        cleaned.append(_clean_obj(Settings, raw, "", found))
        problems.extend((label, p) for p in found)

    settings = _build(Settings, merge(*cleaned))
    for (label, _raw), layer in zip(layers, cleaned):
        _note_unused(label, layer)
    msgs.extend(_message(p, settings, label) for label, p in problems)
    msgs.extend(_cross_checks(settings))
    return settings, msgs

