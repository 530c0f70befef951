"""The Elixir helper (a long-lived BEAM process) and its Python client."""

from elixir_coder_lsp.elixir.client import (
    ElixirHelper,
    HelperCrashed,
    HelperError,
    HelperRequestError,
    HelperTimeout,
    HelperUnavailable,
    ParseResult,
    default_helper,
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
