"""Neuron-pair importance criteria for GLU MLPs: one score per neuron pair, higher = keep.

Shapes: gate_proj.weight and up_proj.weight are [I, H], down_proj.weight is [H, I], so
neuron pair i is row i of the first two and column i of the third. Definitions follow the
reference library OptiPFair 0.4.2 so that the same plan keeps the same neurons.
"""

from __future__ import annotations

import torch
from torch import nn

from optipfair_desktop.engine.plan import normalize_method


def _peak_to_peak(weight: torch.Tensor, dim: int) -> torch.Tensor:
    # max + |min| along ``dim``: the full dynamic range of each neuron's weights.
    return weight.max(dim=dim).values + weight.min(dim=dim).values.abs()


class PPMImportance:
    """Peak-to-peak magnitude (PPM, also called MAW): range of gate_proj row plus range of up_proj row."""

    def __call__(self, gate: torch.Tensor, up: torch.Tensor, down: torch.Tensor) -> torch.Tensor:
        return _peak_to_peak(gate, 1) + _peak_to_peak(up, 1)


class VOWImportance:
    """Variance of weights: unbiased variance of the gate_proj row plus that of the up_proj row."""

    def __call__(self, gate: torch.Tensor, up: torch.Tensor, down: torch.Tensor) -> torch.Tensor:
        return gate.var(dim=1) + up.var(dim=1)


class PONImportance:
    """Product of norms: L1 norm of the gate_proj row times L1 norm of the up_proj row."""

    def __call__(self, gate: torch.Tensor, up: torch.Tensor, down: torch.Tensor) -> torch.Tensor:
        return gate.abs().sum(dim=1) * up.abs().sum(dim=1)


class L2Importance:
    """L2 norm of the gate_proj row plus L2 norm of the up_proj row."""

    def __call__(self, gate: torch.Tensor, up: torch.Tensor, down: torch.Tensor) -> torch.Tensor:
        return torch.linalg.vector_norm(gate, dim=1) + torch.linalg.vector_norm(up, dim=1)


class HybridImportance:
    """Data-driven: normalized weight ranges of gate, up and down, times activation norms.

    ``activation_norms[i]`` is the L2 norm, over the calibration tokens, of the input to
    down_proj at neuron pair i. Each range is divided by its maximum (plus 1e-8) before the sum.
    """

    def __init__(self, activation_norms: torch.Tensor) -> None:
        self.activation_norms = activation_norms

    def __call__(self, gate: torch.Tensor, up: torch.Tensor, down: torch.Tensor) -> torch.Tensor:
        ranges = [_peak_to_peak(gate, 1), _peak_to_peak(up, 1), _peak_to_peak(down, 0)]
        structural = sum(r / (r.max() + 1e-8) for r in ranges)
        return structural * self.activation_norms.float().to(structural.device)


STATIC_CRITERIA = {"ppm": PPMImportance, "vow": VOWImportance, "pon": PONImportance, "l2": L2Importance}


def neuron_pair_scores(mlp: nn.Module, method: str, activation_norms: torch.Tensor | None = None) -> torch.Tensor:
    """Score every neuron pair of ``mlp`` in float32; higher scores are kept first."""
    method = normalize_method(method)
    gate = mlp.gate_proj.weight.detach().float()
    up = mlp.up_proj.weight.detach().float()
    down = mlp.down_proj.weight.detach().float()
    if method == "hybrid":
        if activation_norms is None:
            raise ValueError("The hybrid criterion needs activation norms from calibration; run calibration first.")
        if activation_norms.shape[0] != gate.shape[0]:
            raise ValueError(
                f"Activation norms have {activation_norms.shape[0]} entries but the MLP has {gate.shape[0]} neuron pairs."
            )
        return HybridImportance(activation_norms)(gate, up, down)
    return STATIC_CRITERIA[method]()(gate, up, down)


def select_kept_neurons(keep_scores: torch.Tensor, kept_width: int) -> torch.Tensor:
    """Return the sorted indices of the ``kept_width`` highest-scoring neuron pairs."""
    # torch.topk breaks ties the same way as the reference library, which also uses it.
    return torch.topk(keep_scores, kept_width, largest=True).indices.sort().values


def keep_scores_from_prune_scores(prune_scores: torch.Tensor) -> torch.Tensor:
    """Turn scores where higher means "prune first" (in [0, 1]) into keep scores."""
    if prune_scores.min() < 0 or prune_scores.max() > 1:
        raise ValueError(
            f"Neuron scores must lie in [0, 1]; got {float(prune_scores.min()):.4g}..{float(prune_scores.max()):.4g}."
        )
    return 1.0 - prune_scores.float()
