"""Per-neuron bias scores and fairness pruning scores for GLU MLPs, and the plan change that uses them.

A neuron pair's bias score measures how much its ``gate_proj`` and ``up_proj`` outputs differ
between the two prompts of a pair, at the rows that the analysis mode compares. The differences
are aggregated over the pairs by mean or max, then gate and up are averaged. With ``pooled`` mode the score equals
optipfair 0.4.2's ``analyze_neuron_bias`` (|mean over tokens of A - mean over tokens of B|).

The fairness pruning score mixes it with the width criterion, as optipfair's
``compute_fairness_pruning_scores`` does::

    score = bias_weight * minmax(bias) + (1 - bias_weight) * (1 - minmax(importance))

so that 1.0 ranks by bias alone and 0.0 by (low) importance alone. Higher means pruned first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from optipfair_desktop.engine.bias.analysis import BiasAnalysis
from optipfair_desktop.engine.bias.capture import GLU_COMPONENTS
from optipfair_desktop.engine.model_access import decoder_layers, glu_mlp
from optipfair_desktop.engine.neuron_importance import keep_scores_from_prune_scores, neuron_pair_scores, select_kept_neurons
from optipfair_desktop.engine.plan import PruningPlan, WidthTarget
from optipfair_desktop.engine.plan_check import kept_width

logger = logging.getLogger(__name__)

AGGREGATIONS = ("mean", "max")


def component_neuron_bias(analysis: BiasAnalysis, component: str, aggregation: str = "mean") -> dict[int, np.ndarray]:
    """Aggregate one GLU component's per-neuron differences over the pairs, keyed by original block index."""
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"Unknown aggregation {aggregation!r}; use 'mean' or 'max'.")
    if component not in analysis.components:
        raise ValueError(f"The analysis has no {component} activations; analyse with gate_proj and up_proj included.")
    scores = {}
    for position, block_idx in enumerate(analysis.block_indices):
        stacked = np.stack([pair.differences[component].neuron_means[position] for pair in analysis.pairs])
        scores[block_idx] = stacked.mean(axis=0) if aggregation == "mean" else stacked.max(axis=0)
    return scores


def neuron_bias_scores(analysis: BiasAnalysis, aggregation: str = "mean") -> dict[int, np.ndarray]:
    """Return the bias score of every neuron pair, per original block index (mean of gate_proj and up_proj)."""
    per_component = [component_neuron_bias(analysis, component, aggregation) for component in GLU_COMPONENTS]
    return {block_idx: np.mean([scores[block_idx] for scores in per_component], axis=0) for block_idx in analysis.block_indices}


def min_max_normalize(values: torch.Tensor) -> torch.Tensor:
    """Scale to [0, 1] like the reference library: all zeros when max and min are (nearly) equal."""
    low, high = values.min(), values.max()
    if torch.isclose(high, low):
        return torch.zeros_like(values)
    return (values - low) / (high - low + 1e-8)


def fairness_scores(bias: np.ndarray | torch.Tensor, importance: np.ndarray | torch.Tensor, bias_weight: float) -> np.ndarray:
    """Mix one block's bias scores and importance scores into prune-first scores in [0, 1] (float32)."""
    if not 0.0 <= bias_weight <= 1.0:
        raise ValueError(f"Bias weight {bias_weight} is outside [0, 1]; 1 ranks by bias only, 0 by importance only.")
    bias_tensor = torch.as_tensor(np.asarray(bias), dtype=torch.float32)
    importance_tensor = torch.as_tensor(np.asarray(importance), dtype=torch.float32)
    if bias_tensor.shape != importance_tensor.shape:
        raise ValueError(
            f"Bias scores have shape {tuple(bias_tensor.shape)} but importance scores {tuple(importance_tensor.shape)}; "
            "score the same model that was analysed."
        )
    mixed = bias_weight * min_max_normalize(bias_tensor) + (1 - bias_weight) * (1 - min_max_normalize(importance_tensor))
    return mixed.numpy()


@dataclass
class FairnessScores:
    """Prune-first scores per original block index, with the settings that produced them."""

    scores: dict[int, np.ndarray]
    bias: dict[int, np.ndarray]
    bias_weight: float
    aggregation: str
    importance_method: str
    mode: str


def model_fairness_scores(
    model: nn.Module,
    analysis: BiasAnalysis,
    *,
    blocks: list[int] | None = None,
    bias_weight: float = 0.8,
    aggregation: str = "mean",
    method: str = "ppm",
    activation_norms: dict[int, torch.Tensor] | None = None,
) -> FairnessScores:
    """Compute fairness pruning scores for ``blocks`` (original indices; all analysed blocks by default).

    ``model`` must be the analysed model with its original block numbering. ``method`` is the
    width criterion that supplies the importance: ppm, vow, pon, l2, or hybrid with ``activation_norms``.
    """
    bias = neuron_bias_scores(analysis, aggregation)
    chosen = analysis.block_indices if blocks is None else [int(b) for b in blocks]
    missing = [b for b in chosen if b not in bias]
    if missing:
        raise ValueError(f"Blocks {missing} were not analysed; choose among {analysis.block_indices}.")
    layers = decoder_layers(model)
    scores = {}
    for block_idx in chosen:
        if not 0 <= block_idx < len(layers):
            raise ValueError(f"Block {block_idx} does not exist in a model with {len(layers)} blocks.")
        norms = None if activation_norms is None else activation_norms.get(block_idx)
        importance = neuron_pair_scores(glu_mlp(layers[block_idx]), method, norms)
        scores[block_idx] = fairness_scores(bias[block_idx], importance.cpu(), bias_weight)
    return FairnessScores(
        scores=scores,
        bias={b: bias[b] for b in chosen},
        bias_weight=bias_weight,
        aggregation=aggregation,
        importance_method=method,
        mode=analysis.mode,
    )


def neurons_to_prune(scores: np.ndarray, percent: float, *, hidden_size: int, divisor: int | None = None, block_idx: int = 0) -> list[int]:
    """Return the sorted neuron pairs that a width cut of ``percent`` % ranked by ``scores`` removes.

    Uses the same kept width and tie-breaking as ``pruning.build_pruned_model``, so the ablation
    preview zeros exactly the neuron pairs that the plan would cut.
    """
    if not 0 < percent < 100:
        raise ValueError(f"Pruning percentage {percent} must be above 0 and below 100.")
    width = len(scores)
    kept = kept_width(width, hidden_size, WidthTarget(mode="percent", value=float(percent)), divisor, block_idx)
    keep_scores = keep_scores_from_prune_scores(torch.as_tensor(np.asarray(scores), dtype=torch.float32))
    kept_indices = set(select_kept_neurons(keep_scores, kept).tolist())
    return [i for i in range(width) if i not in kept_indices]


def _common_percent(plan: PruningPlan, width: int, hidden_size: int | None) -> float | None:
    """Return the percentage the plan's common width target prunes, or None without one."""
    if plan.width is None or plan.width.keeps_all:
        return None
    if plan.width.mode == "percent":
        return plan.width.value
    if hidden_size is None:
        return 100.0
    return max((1 - plan.width.value * hidden_size / (100 * width)) * 100, 0.0)


def plan_with_fairness_cut(plan: PruningPlan, scores: dict[int, np.ndarray], percent: float,
                           hidden_size: int | None = None) -> PruningPlan:
    """Return ``plan`` with a width cut of ``percent`` % on each scored block, ranked by its fairness scores.

    A common width target of the plan that removes at least as many pairs as ``percent`` stays
    in force, and the fairness scores only choose which pairs it removes. An override there
    would keep more pairs than the common target. ``hidden_size`` converts a common
    expansion-rate target, and without it such a target is always kept.
    """
    if not 0 < percent < 100:
        raise ValueError(f"Pruning percentage {percent} must be above 0 and below 100.")
    if not scores:
        raise ValueError("No blocks chosen; pick at least one block to prune by fairness scores.")
    removed = sorted(set(scores) & set(plan.remove_blocks))
    if removed:
        raise ValueError(f"Blocks {removed} are removed by depth pruning in the plan; choose blocks that remain.")
    neuron_scores = dict(plan.neuron_scores)
    overrides = dict(plan.block_overrides)
    for block_idx, values in scores.items():
        # Float32 rounding can put a score a hair outside [0, 1]; the plan requires the interval.
        neuron_scores[int(block_idx)] = [min(max(float(v), 0.0), 1.0) for v in values]
        common = _common_percent(plan, len(values), hidden_size)
        if common is None or percent > common or int(block_idx) in overrides:
            overrides[int(block_idx)] = WidthTarget(mode="percent", value=float(percent))
    return plan.replace(neuron_scores=neuron_scores, block_overrides=overrides)
