"""Helpers for Python clients that drive this server (the demo, the e2e tests, the benchmarks)."""

from __future__ import annotations

from typing import Any, Union

from lsprotocol import types


def fix_code_action_union(client: Any) -> None:
    """Make a pygls client read CodeActions that carry a command as CodeActions.

    lsprotocol's client-side hook treats any object with a "command" key as a Command, which garbles
    CodeActions whose `command` is an object; decide by the key's type instead.
    """
    converter = client.protocol._converter

    def hook(obj: Any, _: type) -> Any:
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, types.Command)
        return converter.structure(obj, types.CodeAction)

    converter.register_structure_hook(Union[types.Command, types.CodeAction], hook)
