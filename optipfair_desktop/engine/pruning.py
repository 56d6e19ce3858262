"""Apply a pruning plan to a loaded model: width cuts, block removal, padding, config sync.

The given model is never changed; the plan is applied to a deep copy. Kept neurons are chosen
on the original blocks before any block is removed, so indices in the plan keep their meaning.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass

import torch
from torch import nn

from optipfair_desktop.engine.config_sync import sync_config
from optipfair_desktop.engine.model_access import decoder_layers, glu_mlp, has_glu_mlp, model_device
from optipfair_desktop.engine.neuron_importance import (
    keep_scores_from_prune_scores,
    neuron_pair_scores,
    select_kept_neurons,
)
from optipfair_desktop.engine.plan import PlanError, PruningPlan
from optipfair_desktop.engine.plan_check import planned_widths
from optipfair_desktop.engine.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress

logger = logging.getLogger(__name__)


@dataclass
class PruneResult:
    """The pruned model and what was kept, indexed by original ``block_idx``."""

    model: nn.Module
    plan: PruningPlan
    remaining_blocks: list[int]
    kept_neurons: dict[int, list[int]]
    widths: dict[int, int]
    stored_width: int | None  # intermediate_size after padding narrower MLPs with zero neuron pairs
    padding_params: int


def _slice_linear(layer: nn.Linear, indices: torch.Tensor, dim: int) -> nn.Linear:
    """Return a new Linear keeping ``indices`` of its output (dim 0) or input (dim 1) features."""
    weight = layer.weight.detach().index_select(dim, indices.to(layer.weight.device)).clone()
    out_features, in_features = weight.shape
    new = nn.Linear(in_features, out_features, bias=layer.bias is not None, device="meta")
    new.weight = nn.Parameter(weight, requires_grad=False)
    if layer.bias is not None:
        bias = layer.bias.detach()
        bias = bias.index_select(0, indices.to(bias.device)) if dim == 0 else bias
        new.bias = nn.Parameter(bias.clone(), requires_grad=False)
    return new


def _pad_linear(layer: nn.Linear, width: int, dim: int) -> nn.Linear:
    """Return a new Linear whose ``dim`` (0 = outputs, 1 = inputs) is zero-padded to ``width``."""
    weight = layer.weight.detach()
    pad_shape = list(weight.shape)
    pad_shape[dim] = width - weight.shape[dim]
    weight = torch.cat([weight, weight.new_zeros(pad_shape)], dim=dim)
    new = nn.Linear(weight.shape[1], weight.shape[0], bias=layer.bias is not None, device="meta")
    new.weight = nn.Parameter(weight, requires_grad=False)
    if layer.bias is not None:
        bias = layer.bias.detach()
        if dim == 0:
            bias = torch.cat([bias, bias.new_zeros(width - bias.shape[0])])
        new.bias = nn.Parameter(bias.clone(), requires_grad=False)
    return new


def _keep_scores(mlp: nn.Module, block_idx: int, plan: PruningPlan, activation_norms: dict | None) -> torch.Tensor:
    if block_idx in plan.neuron_scores:
        return keep_scores_from_prune_scores(torch.tensor(plan.neuron_scores[block_idx], dtype=torch.float32))
    norms = None
    if plan.method == "hybrid":
        if not activation_norms or block_idx not in activation_norms:
            raise PlanError(
                f"The hybrid criterion needs activation norms for block {block_idx}; run calibration first."
            )
        norms = activation_norms[block_idx]
    return neuron_pair_scores(mlp, plan.method, norms).cpu()


def prune_block_width(mlp: nn.Module, kept: torch.Tensor) -> None:
    """Keep only the neuron pairs ``kept`` (sorted indices) in a GLU MLP, in place."""
    mlp.gate_proj = _slice_linear(mlp.gate_proj, kept, 0)
    mlp.up_proj = _slice_linear(mlp.up_proj, kept, 0)
    mlp.down_proj = _slice_linear(mlp.down_proj, kept, 1)
    if hasattr(mlp, "intermediate_size"):
        mlp.intermediate_size = len(kept)


def pad_block_width(mlp: nn.Module, width: int) -> int:
    """Append zero neuron pairs up to ``width``; exact, since a zero pair adds nothing to the output.

    gate and up rows of zeros give act(0) * 0 = 0 for every activation used here (SiLU, GELU),
    and a zero down_proj column maps that 0 to nothing. Returns the parameters added.
    """
    current = mlp.gate_proj.out_features
    if current == width:
        return 0
    before = sum(p.numel() for p in mlp.parameters())
    mlp.gate_proj = _pad_linear(mlp.gate_proj, width, 0)
    mlp.up_proj = _pad_linear(mlp.up_proj, width, 0)
    mlp.down_proj = _pad_linear(mlp.down_proj, width, 1)
    if hasattr(mlp, "intermediate_size"):
        mlp.intermediate_size = width
    return sum(p.numel() for p in mlp.parameters()) - before


def cast_weights(model: nn.Module, dtype: torch.dtype) -> None:
    """Cast parameters and saved buffers to ``dtype``, leaving non-persistent buffers alone.

    ``model.to(dtype)`` would also cast buffers such as the rotary ``inv_freq``, which
    transformers keeps in float32 when it loads a checkpoint. The in-memory model would then
    differ from the reloaded one.
    """
    saved_buffers = set(model.state_dict().keys())
    for parameter in model.parameters():
        parameter.data = parameter.data.to(dtype)
    for name, module in model.named_modules():
        for buffer_name, buffer in list(module.named_buffers(recurse=False)):
            full_name = f"{name}.{buffer_name}" if name else buffer_name
            if full_name in saved_buffers and buffer.is_floating_point():
                setattr(module, buffer_name, buffer.to(dtype))
    model.config.dtype = dtype


def build_pruned_model(
    model: nn.Module,
    plan: PruningPlan,
    *,
    activation_norms: dict[int, torch.Tensor] | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> PruneResult:
    """Apply ``plan`` to a copy of ``model`` and check a forward pass of the result."""
    layers = decoder_layers(model)
    num_blocks = len(layers)
    bad = [i for i in plan.remove_blocks if not 0 <= i < num_blocks]
    if bad:
        raise PlanError(f"Blocks {bad} do not exist; the model has blocks 0-{num_blocks - 1}.")
    if len(plan.remove_blocks) >= num_blocks:
        raise PlanError(f"The plan removes all {num_blocks} blocks; keep at least one.")

    glu = all(has_glu_mlp(block) for block in layers)
    if plan.has_width_cut and not glu:
        raise PlanError("Width pruning needs a gate_proj/up_proj/down_proj MLP in every block; prune depth only.")
    original_widths = {i: block.mlp.gate_proj.out_features for i, block in enumerate(layers)} if glu else {}
    widths = planned_widths(model.config.hidden_size, original_widths, plan)

    progress(0.02, "Copying the model")
    pruned = copy.deepcopy(model)
    pruned.eval()
    cancel.check()
    pruned_layers = decoder_layers(pruned)

    kept_neurons: dict[int, list[int]] = {}
    to_cut = [i for i, w in widths.items() if w < original_widths.get(i, w)]
    for step, block_idx in enumerate(to_cut):
        cancel.check()
        progress(0.05 + 0.75 * step / max(len(to_cut), 1), f"Width pruning block {block_idx}")
        mlp = glu_mlp(pruned_layers[block_idx])
        keep_scores = _keep_scores(mlp, block_idx, plan, activation_norms)
        kept = select_kept_neurons(keep_scores, widths[block_idx])
        prune_block_width(mlp, kept)
        kept_neurons[block_idx] = kept.tolist()

    progress(0.82, "Removing blocks")
    remaining = [i for i in range(num_blocks) if i not in plan.remove_blocks]
    decoder = pruned_layers
    new_layers = nn.ModuleList([decoder[i] for i in remaining])
    owner = pruned.model if hasattr(pruned, "model") and getattr(pruned.model, "layers", None) is decoder else pruned
    owner.layers = new_layers

    stored_width = max(widths.values()) if widths else None
    padding = 0
    if stored_width is not None:
        for block in new_layers:
            padding += pad_block_width(block.mlp, stored_width)
    sync_config(pruned, remaining)
    if plan.dtype is not None:
        cast_weights(pruned, getattr(torch, plan.dtype))
    cancel.check()

    progress(0.9, "Checking a forward pass")
    check_forward(pruned)
    progress(1.0, f"Pruned: {len(remaining)} blocks, MLP width {stored_width}")
    logger.info("Applied plan: removed blocks %s, widths %s", list(plan.remove_blocks), sorted(set(widths.values())))
    return PruneResult(pruned, plan, remaining, kept_neurons, widths, stored_width, padding)


def check_forward(model: nn.Module) -> None:
    """Run a short forward pass and raise if the logits have the wrong shape or are not finite."""
    vocab = model.config.vocab_size
    input_ids = (torch.arange(8).unsqueeze(0) * 7 + 3) % vocab
    with torch.no_grad():
        logits = model(input_ids=input_ids.to(model_device(model))).logits
    if logits.shape[-1] != vocab or not torch.isfinite(logits).all():
        raise RuntimeError("The pruned model's forward pass gave invalid logits; the plan was not applied.")
