"""Capture per-block activations of one prompt with forward hooks, as fp32 numpy arrays on the CPU.

Components, named as in the reference library optipfair so that results compare key by key:

* ``attention_output``: the output of the block's ``self_attn`` (before the residual add),
* ``mlp_output``: the output of the block's ``mlp``,
* ``gate_proj`` and ``up_proj``: the two input projections of the GLU MLP, one value per neuron pair.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import nn

from optipfair_desktop.engine.model_access import decoder_layers, has_glu_mlp, model_device

logger = logging.getLogger(__name__)

COMPONENTS = ("attention_output", "mlp_output", "gate_proj", "up_proj")
GLU_COMPONENTS = ("gate_proj", "up_proj")

# Activations of one prompt: component -> one array [tokens, dim] per block, in block order.
Activations = dict[str, list[np.ndarray]]


def check_components(components: Sequence[str]) -> tuple[str, ...]:
    unknown = [name for name in components if name not in COMPONENTS]
    if unknown or not components:
        raise ValueError(f"Unknown component {unknown[0] if unknown else None!r}; use some of {', '.join(COMPONENTS)}.")
    return tuple(dict.fromkeys(components))


def _component_module(block: nn.Module, component: str, block_idx: int) -> nn.Module:
    if component == "attention_output":
        module = getattr(block, "self_attn", None)
    elif component == "mlp_output":
        module = getattr(block, "mlp", None)
    else:
        if not has_glu_mlp(block):
            raise ValueError(
                f"Block {block_idx} has no GLU MLP, so it has no {component}; "
                "analyse attention_output and mlp_output only."
            )
        module = getattr(block.mlp, component)
    if module is None:
        raise ValueError(f"Block {block_idx} ({type(block).__name__}) has no module for {component}.")
    return module


@contextlib.contextmanager
def capture_hooks(model: nn.Module, components: Sequence[str], store: dict[str, list[torch.Tensor | None]]) -> Iterator[None]:
    """Record each block's component outputs into ``store`` while the context is open.

    Only forward passes run by the thread that opened the context are recorded, so another
    panel running the same model at the same time neither leaks into nor disturbs the capture.
    """
    components = check_components(components)
    blocks = decoder_layers(model)
    owner = threading.get_ident()
    handles = []
    for component in components:
        store[component] = [None] * len(blocks)

    def make_hook(component: str, block_idx: int):
        def hook(module, inputs, output):
            if threading.get_ident() != owner:
                return
            tensor = output[0] if isinstance(output, tuple) else output
            store[component][block_idx] = tensor.detach()

        return hook

    try:
        for block_idx, block in enumerate(blocks):
            for component in components:
                module = _component_module(block, component, block_idx)
                handles.append(module.register_forward_hook(make_hook(component, block_idx)))
        yield
    finally:
        for handle in handles:
            handle.remove()


def capture_activations(model: nn.Module, input_ids: Sequence[int], components: Sequence[str] = COMPONENTS) -> Activations:
    """Run one prompt (batch of one, no padding) and return every block's component outputs."""
    store: dict[str, list[torch.Tensor | None]] = {}
    ids = torch.tensor([list(input_ids)], dtype=torch.long, device=model_device(model))
    with capture_hooks(model, components, store), torch.no_grad():
        model(input_ids=ids, use_cache=False)

    result: Activations = {}
    for component, tensors in store.items():
        missing = [block_idx for block_idx, tensor in enumerate(tensors) if tensor is None]
        if missing:
            raise RuntimeError(f"No {component} output was recorded for blocks {missing}; the model skipped them.")
        # [1, tokens, dim] -> [tokens, dim], fp32 on the CPU.
        result[component] = [tensor[0].float().cpu().numpy() for tensor in tensors]
    return result
