"""Load a model folder into memory with plain transformers."""

from __future__ import annotations

import logging

from optipfair_desktop.engine.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress
from optipfair_desktop.engine.sources import ModelSource

logger = logging.getLogger(__name__)

DTYPE_NAMES = ("float32", "bfloat16", "float16")


def resolve_device(device: str | None) -> str:
    """Check a device name and return it; None picks CUDA, then MPS, then the CPU."""
    import torch

    if device in (None, "", "auto"):
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("Device 'cuda' was requested but torch sees no CUDA GPU; use --device cpu.")
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("Device 'mps' was requested but Apple MPS is not available; use --device cpu.")
    if device not in ("cpu", "cuda", "mps") and not device.startswith("cuda:"):
        raise ValueError(f"Unknown device {device!r}; use cpu, cuda or mps.")
    return device


def load_model(
    source: ModelSource,
    dtype: str | None = None,
    device: str = "cpu",
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
):
    """Load ``source`` as ``(model, tokenizer)`` in eval mode; ``dtype=None`` keeps the stored dtype."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if dtype is not None and dtype not in DTYPE_NAMES:
        raise ValueError(f"Unknown dtype {dtype!r}; use one of {', '.join(DTYPE_NAMES)}.")
    progress(0.05, f"Loading the tokenizer of {source.name}")
    tokenizer = AutoTokenizer.from_pretrained(source.folder)
    cancel.check()
    progress(0.2, f"Loading the weights of {source.name}")
    model = AutoModelForCausalLM.from_pretrained(
        source.folder, dtype=getattr(torch, dtype) if dtype else "auto"
    )
    model.to(resolve_device(device))
    model.eval()
    cancel.check()
    progress(1.0, f"Loaded {source.name}")
    logger.info("Loaded %s (%s, %s)", source.name, model.dtype, device)
    return model, tokenizer
