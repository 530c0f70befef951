"""The CWE entries our security rules cite, read from MITRE's data as shipped in the `cwe2` package.

Names, descriptions, extended descriptions and mitigations are MITRE's own text (CWE™ is a
trademark of The MITRE Corporation; the data is used under the CWE Terms of Use, which `cwe2`
ships next to its MIT licence). Explanations cite MITRE and link each entry's cwe.mitre.org page.
Entries are loaded once per process, on first use, from the package's Research Concepts view.
"""

from __future__ import annotations

import csv
import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

CWE_URL = "https://cwe.mitre.org/data/definitions/{id}.html"
ATTRIBUTION = "CWE™ content © The MITRE Corporation, used under the CWE Terms of Use (https://cwe.mitre.org/about/termsofuse.html)."
_MITIGATION = re.compile(r"::PHASE:(?P<phase>[^:]*)(?::STRATEGY:(?P<strategy>[^:]*))?:DESCRIPTION:(?P<text>.*?)(?=::PHASE:|::$|$)", re.DOTALL)


@dataclass(frozen=True)
class CweEntry:
    """One CWE weakness as MITRE publishes it: id, official name, description, extended description, mitigations."""

    id: int
    name: str
    description: str
    extended_description: str = ""
    mitigations: tuple[str, ...] = field(default=())

    @property
    def url(self) -> str:
        """The weakness's page on cwe.mitre.org."""
        return CWE_URL.format(id=self.id)

    @property
    def label(self) -> str:
        """`CWE-89: Improper Neutralization ...`, as shown in explanations."""
        return f"CWE-{self.id}: {self.name}"


def _mitigations(text: str) -> tuple[str, ...]:
    """MITRE's `::PHASE:…:DESCRIPTION:…` mitigation list as plain sentences."""
    out = []
    for m in _MITIGATION.finditer(text or ""):
        body = " ".join(m["text"].split())
        if body:
            out.append(body)
    return tuple(out)


def _entry(row: dict[str, Any]) -> CweEntry:
    return CweEntry(
        id=int(row["CWE-ID"]),
        name=(row.get("Name") or "").strip(),
        description=" ".join((row.get("Description") or "").split()),
        extended_description=" ".join((row.get("Extended Description") or "").split()),
        mitigations=_mitigations(row.get("Potential Mitigations") or ""),
    )


_lock = threading.Lock()
_loaded: dict[int, CweEntry] | None = None
_misses: set[int] = set()


def _load_view() -> dict[int, CweEntry]:
    """Every weakness of the package's Research Concepts view (CWE-1000: all weaknesses), by id."""
    global _loaded
    with _lock:
        if _loaded is None:
            entries: dict[int, CweEntry] = {}
            try:
                from cwe2.mappings import navigate_cwe

                path = navigate_cwe["research_concepts"]["csv_file"]
                with open(path, encoding="utf-8", newline="") as f:
                    for row in csv.DictReader(f):
                        if (row.get("CWE-ID") or "").isdigit():
                            entries[int(row["CWE-ID"])] = _entry(row)
            except Exception as exc:  # noqa: BLE001 - a broken data package must not take explanations down
                log.warning("CWE data unavailable (cwe2): %s", exc)
            _loaded = entries
        return _loaded


def _lookup_elsewhere(cwe_id: int) -> CweEntry | None:
    """Ids outside the research view (categories, views): the package's slower full lookup."""
    try:
        from cwe2.database import Database, InvalidCWEError
    except ImportError:
        return None
    try:
        w = Database().get(cwe_id)
    except (InvalidCWEError, LookupError, ValueError, TypeError, IndexError):  # an id MITRE does not have
        return None
    row = {"CWE-ID": str(cwe_id), "Name": w.name, "Description": w.description if isinstance(w.description, str) else ""}
    if isinstance(w.extended_description, str):
        row["Extended Description"] = w.extended_description
    if isinstance(w.potential_mitigations, str):
        row["Potential Mitigations"] = w.potential_mitigations
    return _entry(row)


def get(cwe_id: int | None) -> CweEntry | None:
    """The entry for a CWE id, or None when MITRE's data does not have it."""
    if cwe_id is None:
        return None
    cwe_id = int(cwe_id)
    view = _load_view()
    entry = view.get(cwe_id)
    if entry is None and cwe_id not in _misses:
        entry = _lookup_elsewhere(cwe_id)
        with _lock:
            if entry is None:
                _misses.add(cwe_id)
            else:
                view[cwe_id] = entry
    return entry


def url(cwe_id: int) -> str:
    """The cwe.mitre.org page of any CWE id."""
    return CWE_URL.format(id=int(cwe_id))


def data_version() -> str:
    """The `cwe2` package version (the index is rebuilt when it changes)."""
    try:
        from importlib.metadata import version

        return version("cwe2")
    except Exception:  # noqa: BLE001
        return "none"
