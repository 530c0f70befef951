"""Monitors for monitor-guided decoding: token bans that keep generated code clear of known findings.

A monitor watches the decoded text of one sequence. When the text ends somewhere a banned call could be
completed (inside `String.to_a…`, right after `:erlang.binary_to_term(`), `trigger(text)` is true and
`banned(text, vocab)` lists the token ids that would complete the call; the constraint ANDs that ban with
the grammar mask. A call is "completed" when its name is followed by a character that cannot continue an
identifier (or by the end of the output), so `String.to_existing_atom` and `dbg_level` stay allowed.
Monitors apply to the raw text (a banned spelling inside a string or comment is banned too).

Settings keys (`generation.monitors`, docs/protocol.md) and the rules they prevent:
  stringToAtom  String.to_atom                    Sobelow.DOS.StringToAtom
  listToAtom    List.to_atom                      Sobelow.DOS.ListToAtom
  codeEval      Code.eval_string, Code.eval_quoted Sobelow.RCE.CodeModule
  ioInspect     IO.inspect                        Credo.Check.Warning.IoInspect
  dbg           dbg, Kernel.dbg                   Credo.Check.Warning.Dbg
  osCmd         :os.cmd                           Sobelow.CI.OS
  binaryToTerm  :erlang.binary_to_term/1          Sobelow.Misc.BinToTerm  (`binary_to_term(x, [:safe])` stays allowed)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from elixir_coder_lsp.rules import catalogue
from elixir_coder_lsp.rules.rule import Rule

log = logging.getLogger(__name__)

IDENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_?!")
# characters that, right before a name, make it part of something else (`Foo.String`, `:dbg`, `@dbg`)
_LEFT_BLOCKERS = IDENT_CHARS | frozenset(".:@")


class Vocab(Protocol):
    """What monitors need from a tokenizer's vocabulary (constraints.VocabIndex implements it)."""

    texts: list[str]
    eos_tokens: list[int]
    nonident_start: list[int]

    def starting_with(self, prefix: str) -> list[int]: ...

    def containing(self, needle: str) -> list[int]: ...


def _left_ok(text: str, pos: int, spelling: str) -> bool:
    """Whether a spelling starting at pos in text starts a name (is not glued to what precedes it)."""
    if pos == 0:
        return True
    prev = text[pos - 1]
    if spelling[0] == ":":
        return prev not in IDENT_CHARS and prev != ":"
    return prev not in _LEFT_BLOCKERS


class CallMonitor:
    """Bans completing any of a few call spellings (`String.to_atom`, `IO.inspect`, ...)."""

    def __init__(self, key: str, rule_id: str, spellings: Iterable[str]) -> None:
        self.key = key
        self.rule_id = rule_id
        self.spellings = tuple(spellings)
        self._containing: dict[tuple[int, str], list[int]] = {}

    @property
    def rule(self) -> Rule | None:
        """The catalogue entry for the rule this monitor prevents (None when the catalogue lacks it)."""
        return catalogue.get(self.rule_id)

    def _violations(self, text: str, final: bool) -> bool:
        for sp in self.spellings:
            start = text.find(sp)
            while start >= 0:
                end = start + len(sp)
                if _left_ok(text, start, sp):
                    if end < len(text):
                        if text[end] not in IDENT_CHARS:
                            return True
                    elif final:
                        return True
                start = text.find(sp, start + 1)
        return False

    def allowed(self, text: str, final: bool = False) -> bool:
        """True when text completes no banned call (final: the text ends here, e.g. at EOS)."""
        return not self._violations(text, final)

    def trigger(self, text: str) -> bool:
        """True when some token could complete a banned call right now."""
        return True  # cheap enough: banned() does suffix checks and a few cached lookups

    def update(self, token_text: str) -> None:
        """Called with each consumed token's text (this monitor derives everything from the text)."""

    def _whole_in_token(self, vocab: Vocab, sp: str) -> list[int]:
        key = (id(vocab), sp)
        ids = self._containing.get(key)
        if ids is None:
            ids = vocab.containing(sp)
            self._containing[key] = ids
        return ids

    def banned(self, text: str, vocab: Vocab) -> list[int]:
        """Token ids that would complete a banned call after text (EOS included when text ends in one)."""
        out: list[int] = []
        texts = vocab.texts
        for sp in self.spellings:
            for k in range(min(len(sp), len(text)), 0, -1):
                if not text.endswith(sp[:k]) or not _left_ok(text, len(text) - k, sp):
                    continue
                rest = sp[k:]
                if not rest:
                    out.extend(vocab.nonident_start)
                    out.extend(vocab.eos_tokens)
                    continue
                n = len(rest)
                out.extend(t for t in vocab.starting_with(rest) if len(texts[t]) > n and texts[t][n] not in IDENT_CHARS)
            # the whole spelling inside one token
            for t in self._whole_in_token(vocab, sp):
                if self._violations(text[-1:] + texts[t], False) and not self._violations(text[-1:], False):
                    out.append(t)
        return out


class BinaryToTermMonitor:
    """Bans `:erlang.binary_to_term/1` (one argument, piped or not) but allows `(bin, [:safe])`."""

    SPELLING = ":erlang.binary_to_term"

    def __init__(self, key: str = "binaryToTerm", rule_id: str = "Sobelow.Misc.BinToTerm") -> None:
        self.key = key
        self.rule_id = rule_id
        self._closers: dict[int, list[int]] = {}

    rule = CallMonitor.rule

    def _state(self, text: str, start: int, final: bool) -> str:
        """'open', 'ok' or 'violation' for the occurrence of the spelling at start."""
        res = self._scan_from(text, start)
        if isinstance(res, str):
            return res
        return "violation" if final else "open"

    def _scan_from(self, text: str, start: int) -> str | tuple[Any, ...]:
        """Scan the call at start: a final verdict, or the open state to resume with `_resume`."""
        sp = self.SPELLING
        i = start + len(sp)
        if i >= len(text):
            return ("name", text[:start].rstrip().endswith("|>"))
        c = text[i]
        if c in IDENT_CHARS:
            return "ok"  # another name (`binary_to_term_x`)
        if c == "/":  # a capture: `&:erlang.binary_to_term/1` is the one-argument function
            return self._resume(("slash", ""), text[i + 1 :])
        if c != "(":
            return "violation"  # a no-parens call takes one argument here
        piped = text[:start].rstrip().endswith("|>")
        return self._resume(("args", piped, 1, 0, False, "", False), text[i + 1 :])

    @staticmethod
    def _resume(state: tuple[Any, ...], chars: str) -> str | tuple[Any, ...]:
        """Continue a scan state over more characters."""
        kind = state[0]
        if kind == "name":
            if not chars:
                return state
            c = chars[0]
            if c in IDENT_CHARS:
                return "ok"
            if c == "/":
                return BinaryToTermMonitor._resume(("slash", ""), chars[1:])
            if c != "(":
                return "violation"
            return BinaryToTermMonitor._resume(("args", state[1], 1, 0, False, "", False), chars[1:])
        if kind == "slash":
            digits = state[1]
            for ch in chars:
                if not ch.isdigit():
                    return "violation" if digits == "1" else "ok"
                digits += ch
            return ("slash", digits)
        _, piped, depth, commas, has_arg, quote, escaped = state
        for ch in chars:
            if quote:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == quote:
                    quote = ""
            elif ch in "\"'":
                quote, has_arg = ch, True
            elif ch in "([{":
                depth += 1
                has_arg = True
            elif ch in ")]}":
                depth -= 1
                if depth == 0:
                    if ch != ")":
                        return "ok"  # mismatched brackets: not a call the grammar would let through
                    arity = (commas + 1 if has_arg else 0) + (1 if piped else 0)
                    return "violation" if arity == 1 else "ok"
            elif ch == "," and depth == 1:
                commas += 1
            elif not ch.isspace():
                has_arg = True
        return ("args", piped, depth, commas, has_arg, quote, escaped)

    def _occurrences(self, text: str) -> list[int]:
        out, start = [], text.find(self.SPELLING)
        while start >= 0:
            if _left_ok(text, start, self.SPELLING):
                out.append(start)
            start = text.find(self.SPELLING, start + 1)
        return out

    def allowed(self, text: str, final: bool = False) -> bool:
        """True when text makes no one-argument call of :erlang.binary_to_term."""
        return all(self._state(text, s, final) != "violation" for s in self._occurrences(text))

    def trigger(self, text: str) -> bool:
        """True inside an unfinished call, or while the text ends in a prefix of the name."""
        sp = self.SPELLING
        if any(text.endswith(sp[:k]) for k in range(1, len(sp) + 1)):
            return True
        occ = self._occurrences(text[-400:])
        return bool(occ) and self._state(text[-400:], occ[-1], False) == "open"

    def update(self, token_text: str) -> None:
        """Called with each consumed token's text (state is derived from the text)."""

    def banned(self, text: str, vocab: Vocab) -> list[int]:
        """Token ids whose text would complete a one-argument call (EOS when the text ends in one)."""
        tail = text[-400:]
        texts = vocab.texts
        out: set[int] = set()
        sp = self.SPELLING
        # the name is being spelled: tokens that finish it and go on into a one-argument call
        for k in range(1, len(sp)):
            if tail.endswith(sp[:k]) and _left_ok(tail, len(tail) - k, sp):
                rest = sp[k:]
                for t in vocab.starting_with(rest):
                    if not self.allowed(tail + texts[t]):
                        out.add(t)
        occ = self._occurrences(tail)
        if occ:
            state = self._scan_from(tail, occ[-1])
            if not isinstance(state, str):
                if state[0] == "name":
                    cands: list[int] = list(vocab.nonident_start)
                else:
                    key = id(vocab)
                    if key not in self._closers:
                        self._closers[key] = sorted(set(vocab.containing(")")) | set(vocab.containing("/")))
                    cands = self._closers[key] if state[0] == "args" else list(vocab.nonident_start)
                    if state[0] == "slash":
                        cands = list(range(len(texts)))
                for t in cands:
                    if texts[t] and self._resume(state, texts[t]) == "violation":
                        out.add(t)
                out.update(vocab.eos_tokens)  # ending inside the call never completes it validly
        return sorted(out)


def _specs() -> dict[str, Any]:
    return {
        "stringToAtom": lambda: CallMonitor("stringToAtom", "Sobelow.DOS.StringToAtom", ["String.to_atom"]),
        "listToAtom": lambda: CallMonitor("listToAtom", "Sobelow.DOS.ListToAtom", ["List.to_atom"]),
        "codeEval": lambda: CallMonitor("codeEval", "Sobelow.RCE.CodeModule", ["Code.eval_string", "Code.eval_quoted"]),
        "ioInspect": lambda: CallMonitor("ioInspect", "Credo.Check.Warning.IoInspect", ["IO.inspect"]),
        "dbg": lambda: CallMonitor("dbg", "Credo.Check.Warning.Dbg", ["dbg", "Kernel.dbg"]),
        "osCmd": lambda: CallMonitor("osCmd", "Sobelow.CI.OS", [":os.cmd"]),
        "binaryToTerm": lambda: BinaryToTermMonitor(),
    }


MONITOR_KEYS: tuple[str, ...] = tuple(_specs())


def build_monitors(enabled: Mapping[str, bool] | None) -> list[Any]:
    """Fresh monitor objects for the enabled settings keys (unknown keys are ignored with a warning)."""
    if not enabled:
        return []
    specs = _specs()
    out = []
    for key, on in enabled.items():
        if key not in specs:
            log.warning("unknown monitor %r ignored", key)
            continue
        if on:
            out.append(specs[key]())
    return out
