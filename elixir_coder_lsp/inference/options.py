"""How one model instance is loaded and batched: the options shared by the serving layer and the engine.

The defaults are the settings schema's (``models.NAME.*``), so a value changes in one place only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from elixir_coder_lsp.settings import ModelSettings

_DEFAULTS = ModelSettings()


@dataclass
class ServingOptions:
    """How one model instance is loaded and batched."""

    max_batch_size: int = _DEFAULTS.max_batch_size
    max_sequence_length: int = _DEFAULTS.max_sequence_length
    batch_timeout_ms: int = _DEFAULTS.batch_timeout_ms
    mask_overlap: str = _DEFAULTS.mask_overlap  # grammar masks filled during the forward pass: auto | every | refused | off
    device: str = _DEFAULTS.device
    dtype: str = _DEFAULTS.dtype
    attn_implementation: str = "sdpa"
    compile: bool = False  # torch.compile the forward pass (GPU only)
    adapters: dict[str, str] = field(default_factory=dict)  # role -> PEFT/LoRA adapter dir
    templates: dict[str, str] = field(default_factory=dict)  # role -> prompt template override
    allow_download: bool = False  # hub ids not in the local cache fail fast unless this is set
    num_threads: int | None = None  # torch intra-op threads (None = torch's default)

    @classmethod
    def from_model_settings(cls, settings: ModelSettings, *, num_threads: int | None = None) -> ServingOptions:
        """The options of one configured model instance (role adapters and templates that are set)."""
        return cls(
            max_batch_size=settings.max_batch_size,
            max_sequence_length=settings.max_sequence_length,
            batch_timeout_ms=settings.batch_timeout_ms,
            mask_overlap=settings.mask_overlap,
            device=settings.device,
            dtype=settings.dtype,
            adapters={role: r.adapter for role, r in settings.roles.items() if r.adapter},
            templates={role: r.template for role, r in settings.roles.items() if r.template},
            num_threads=num_threads,
        )
