"""A small offline table of the CWE entries that our security rules cite.

Names are MITRE's official entry names; the descriptions are short summaries in our own words,
written for someone reading a diagnostic, not a copy of the CWE text.
"""

from __future__ import annotations

from dataclasses import dataclass

CWE_URL = "https://cwe.mitre.org/data/definitions/{id}.html"


@dataclass(frozen=True)
class CweEntry:
    """One CWE weakness: id, official name, our short description, and its page."""

    id: int
    name: str
    description: str

    @property
    def url(self) -> str:
        """The weakness's page on cwe.mitre.org."""
        return CWE_URL.format(id=self.id)

    @property
    def label(self) -> str:
        """`CWE-89: Improper Neutralization ...`, as shown in explanations."""
        return f"CWE-{self.id}: {self.name}"


_ENTRIES = (
    CweEntry(
        20,
        "Improper Input Validation",
        "Data from outside the program is used without checking that it has the shape, size and "
        "range the code expects, so later steps act on values nobody planned for.",
    ),
    CweEntry(
        22,
        "Improper Limitation of a Pathname to a Restricted Directory ('Path Traversal')",
        "A file path is built from outside input, so segments such as `../` or an absolute path "
        "let a caller read, write or delete files outside the directory the code meant to use.",
    ),
    CweEntry(
        78,
        "Improper Neutralization of Special Elements used in an OS Command ('OS Command Injection')",
        "Outside input decides which program runs or reaches a shell command line, so a caller "
        "can run commands of their choice with the application's privileges.",
    ),
    CweEntry(
        79,
        "Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')",
        "Outside input is written into an HTML response without escaping, so a caller can make "
        "other users' browsers run script in the site's origin.",
    ),
    CweEntry(
        89,
        "Improper Neutralization of Special Elements used in an SQL Command ('SQL Injection')",
        "SQL text is assembled from outside input instead of passing the input as query "
        "parameters, so a caller can change what the statement does.",
    ),
    CweEntry(
        94,
        "Improper Control of Generation of Code ('Code Injection')",
        "Code or a template that is compiled and run at runtime is built from outside input, so "
        "a caller can run arbitrary code inside the application.",
    ),
    CweEntry(
        95,
        "Improper Neutralization of Directives in Dynamically Evaluated Code ('Eval Injection')",
        "Outside input reaches an eval-style function that runs a string or quoted expression as "
        "code, handing the caller full control of the running system.",
    ),
    CweEntry(
        116,
        "Improper Encoding or Escaping of Output",
        "Data is sent to another component (a browser, a shell, a log) without the encoding that "
        "component needs, so parts of the data are read as instructions.",
    ),
    CweEntry(
        319,
        "Cleartext Transmission of Sensitive Information",
        "Secrets or personal data travel over an unencrypted channel where others on the network "
        "can read or alter them.",
    ),
    CweEntry(
        352,
        "Cross-Site Request Forgery (CSRF)",
        "A state-changing request is accepted without proof that the user meant to send it, so "
        "another site can make a logged-in browser submit it.",
    ),
    CweEntry(
        400,
        "Uncontrolled Resource Consumption",
        "Outside input decides how much memory, storage or other finite resource the program "
        "uses, so a caller can exhaust it and stop the service; on the BEAM, creating atoms "
        "from input is the classic case because atoms are never freed.",
    ),
    CweEntry(
        502,
        "Deserialization of Untrusted Data",
        "Bytes from outside are turned back into live terms without restricting what they may "
        "contain, so a caller can create atoms, functions or other values the code never meant "
        "to accept.",
    ),
    CweEntry(
        601,
        "URL Redirection to Untrusted Site ('Open Redirect')",
        "A redirect target comes from outside input, so a link to a trusted site can forward "
        "users to a site of the attacker's choosing.",
    ),
    CweEntry(
        693,
        "Protection Mechanism Failure",
        "A defence the platform offers (security headers, content policies, CSRF tokens) is "
        "missing or switched off, leaving an attack path open.",
    ),
    CweEntry(
        770,
        "Allocation of Resources Without Limits or Throttling",
        "Resources are handed out per request with no cap, so enough requests use them all up.",
    ),
    CweEntry(
        798,
        "Use of Hard-coded Credentials",
        "A password, key or token is written into the source or committed configuration, so "
        "anyone who can read the code or its history can use it, and rotating it needs a release.",
    ),
    CweEntry(
        1336,
        "Improper Neutralization of Special Elements Used in a Template Engine",
        "Outside input becomes part of a template rather than data rendered by it, so template "
        "syntax in the input is executed by the engine.",
    ),
)

CWE: dict[int, CweEntry] = {e.id: e for e in _ENTRIES}


def get(cwe_id: int | None) -> CweEntry | None:
    """The entry for a CWE id, or None when the table does not have it."""
    return CWE.get(cwe_id) if cwe_id is not None else None


def url(cwe_id: int) -> str:
    """The cwe.mitre.org page of any CWE id (also ids missing from the table)."""
    return CWE_URL.format(id=int(cwe_id))


def all_entries() -> list[CweEntry]:
    """Every entry, by id."""
    return sorted(CWE.values(), key=lambda e: e.id)
