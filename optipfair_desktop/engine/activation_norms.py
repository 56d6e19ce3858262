"""Activation norms of the MLP neuron pairs, the data-driven half of the hybrid width criterion.

The input of ``down_proj`` is the product of the activated gate and the up projection,
[B, L, intermediate_size]. For each block and batch it is reduced to its L2 norm over all real
tokens, one value per neuron pair, and these batch norms are summed. This is the quantity that
``optipfair.pruning.mlp_glu`` 0.4.2 accumulates in its data-driven mode, so the numbers agree with
it for the same windows and batch size when there is no padding. Unlike that library, padding
tokens are left out here.

NOTE: a sum of per-batch norms is not the norm over all tokens at once, so the values depend on
the batch size. The hybrid criterion only compares neuron pairs within one block, and every pair
there shares the same batches.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from optipfair_desktop.engine import importance_cache
from optipfair_desktop.engine.calibration import CalibrationWindows
from optipfair_desktop.engine.model_access import decoder_layers, decoder_model, glu_mlp, has_glu_mlp, model_device
from optipfair_desktop.engine.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress
from optipfair_desktop.engine.scoped_hooks import ScopedHooks

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 8


def norms_cache_key(model_identity: str, windows: CalibrationWindows, *, batch_size: int, dtype) -> str:
    settings = {"batch_size": batch_size, "dtype": importance_cache.dtype_name(dtype)}
    return importance_cache.cache_key(model_identity, windows.content_hash, "activation-norms", settings)


def cached_activation_norms(
    model_identity: str, windows: CalibrationWindows, *, batch_size: int = DEFAULT_BATCH_SIZE, dtype="float32"
) -> dict[int, torch.Tensor] | None:
    """Return cached activation norms without needing the model, or None when there are none."""
    return importance_cache.load_activation_norms(norms_cache_key(model_identity, windows, batch_size=batch_size, dtype=dtype))


def collect_activation_norms(
    model: nn.Module,
    windows: CalibrationWindows,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    model_identity: str | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> dict[int, torch.Tensor]:
    """Return, per block with a GLU MLP, the fp32 CPU tensor [intermediate_size] of neuron-pair norms.

    Only the base model runs (no LM head). With a ``model_identity`` string the result is cached
    per model, calibration windows and batch size.
    """
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    layers = decoder_layers(model)
    blocks = [block_idx for block_idx, block in enumerate(layers) if has_glu_mlp(block)]
    if not blocks:
        raise ValueError(f"{type(model).__name__} has no block with a GLU MLP, so it has no activation norms")

    key = None
    if model_identity is not None:
        key = norms_cache_key(model_identity, windows, batch_size=batch_size, dtype=next(model.parameters()).dtype)
        cached = importance_cache.load_activation_norms(key)
        if cached is not None:
            logger.info("Activation norms read from the cache")
            progress(1.0, "Activation norms: read from the cache")
            return cached

    device = model_device(model)
    totals = {block_idx: torch.zeros(glu_mlp(layers[block_idx]).down_proj.in_features, dtype=torch.float32, device=device) for block_idx in blocks}
    batch: dict = {}

    def make_hook(block_idx: int):
        def hook(module, args):
            cancel.check()
            activations = args[0].float()  # [B, L, intermediate_size]
            mask = batch["mask"]
            if mask is None:
                squares = activations.square().sum(dim=(0, 1))
            else:
                squares = activations[mask].square().sum(dim=0)
            totals[block_idx] += squares.sqrt()
        return hook

    hooks = ScopedHooks()
    for block_idx in blocks:
        hooks.add_forward_pre(glu_mlp(layers[block_idx]).down_proj, make_hook(block_idx))
    base = decoder_model(model)
    num_batches = windows.num_batches(batch_size)
    try:
        with torch.inference_mode():
            for batch_index, (input_ids, attention_mask) in enumerate(windows.batches(batch_size)):
                cancel.check()
                real = attention_mask.bool()
                batch["mask"] = None if bool(real.all()) else real.to(device)
                base(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device), use_cache=False)
                progress((batch_index + 1) / num_batches, f"Activation norms: batch {batch_index + 1}/{num_batches}")
    finally:
        hooks.close()
        batch.clear()

    norms = {block_idx: total.cpu() for block_idx, total in totals.items()}
    if key is not None:
        importance_cache.store_activation_norms(key, norms)
    return norms
