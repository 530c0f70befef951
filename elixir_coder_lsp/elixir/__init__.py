"""The Elixir helper (a long-lived BEAM process) and its Python client."""

from elixir_coder_lsp.elixir.client import ElixirHelper, default_helper
from elixir_coder_lsp.elixir.errors import (
    HelperCrashed,
    HelperError,
    HelperRequestError,
    HelperTimeout,
    HelperUnavailable,
    ParseResult,
)

__all__ = [
    "ElixirHelper",
    "HelperCrashed",
    "HelperError",
    "HelperRequestError",
    "HelperTimeout",
    "HelperUnavailable",
    "ParseResult",
    "default_helper",
]
