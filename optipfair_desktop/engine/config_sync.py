"""Bring a model's config and layer indices in line with its modules after a cut."""

from __future__ import annotations

import logging

from torch import nn

from optipfair_desktop.engine.model_access import decoder_layers, has_glu_mlp

logger = logging.getLogger(__name__)


def sync_config(model: nn.Module, remaining_blocks: list[int]) -> None:
    """Rewrite ``num_hidden_layers``, ``layer_types``, ``intermediate_size`` and every ``layer_idx``.

    ``remaining_blocks`` are the original indices of the blocks now in ``model.layers``, in
    order. The KV cache and attention masks look blocks up by ``layer_idx`` and ``layer_types``.
    """
    config = model.config
    layers = decoder_layers(model)
    if len(layers) != len(remaining_blocks):
        raise ValueError(f"{len(layers)} blocks in the model but {len(remaining_blocks)} remaining indices given.")

    config.num_hidden_layers = len(layers)
    layer_types = getattr(config, "layer_types", None)
    if layer_types is not None:
        config.layer_types = [layer_types[i] for i in remaining_blocks]

    for new_idx, block in enumerate(layers):
        for module in block.modules():
            if hasattr(module, "layer_idx"):
                module.layer_idx = new_idx

    widths = {block.mlp.gate_proj.out_features for block in layers if has_glu_mlp(block)}
    if len(widths) > 1:
        raise ValueError(f"Blocks have different MLP widths {sorted(widths)}; pad them before syncing the config.")
    if widths:
        config.intermediate_size = widths.pop()
    logger.debug("Config synced: %d blocks, intermediate_size %s", config.num_hidden_layers,
                 getattr(config, "intermediate_size", None))
