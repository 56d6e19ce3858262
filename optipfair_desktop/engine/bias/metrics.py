"""Difference metrics between the activations of the two prompts of a pair.

Per block and component the compared rows give a matrix ``D = |rows_a - rows_b|`` [rows, dim];
its mean, max, std, L1 and L2 norms are the block's metrics. Summaries over blocks follow the
definitions of ``optipfair.bias.metrics.calculate_bias_metrics`` (optipfair 0.4.2): that function
reduces each block to the mean of D, then takes mean, max, min, std (with Bessel's correction),
L1 and L2 over those per-block means. :func:`reference_layout` rebuilds its output dictionary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BLOCK_STATS = ("mean", "max", "std", "l1", "l2")


@dataclass
class ComponentDifferences:
    """One component of one prompt pair, block by block (arrays indexed by position in ``block_indices``)."""

    mean: np.ndarray  # [blocks] mean of D
    max: np.ndarray  # [blocks] max of D
    std: np.ndarray  # [blocks] population std of D
    l1: np.ndarray  # [blocks] sum of D
    l2: np.ndarray  # [blocks] Frobenius norm of D
    row_means: np.ndarray  # [blocks, rows] mean of D over dim, one value per compared row
    neuron_means: list[np.ndarray]  # per block [dim]: mean of D over rows, one value per unit

    def stat(self, name: str) -> np.ndarray:
        if name not in BLOCK_STATS:
            raise ValueError(f"Unknown block statistic {name!r}; use one of {', '.join(BLOCK_STATS)}.")
        return getattr(self, name)


def block_difference_stats(rows_a: np.ndarray, rows_b: np.ndarray) -> dict:
    """Return the statistics of ``|rows_a - rows_b|`` for one block, computed in float64."""
    difference = np.abs(rows_a.astype(np.float64) - rows_b.astype(np.float64))
    return {
        "mean": float(difference.mean()),
        "max": float(difference.max()),
        "std": float(difference.std()),
        "l1": float(difference.sum()),
        "l2": float(np.sqrt(np.square(difference).sum())),
        "row_means": difference.mean(axis=1),
        "neuron_means": difference.mean(axis=0),
    }


def stack_block_stats(per_block: list[dict]) -> ComponentDifferences:
    return ComponentDifferences(
        mean=np.array([s["mean"] for s in per_block]),
        max=np.array([s["max"] for s in per_block]),
        std=np.array([s["std"] for s in per_block]),
        l1=np.array([s["l1"] for s in per_block]),
        l2=np.array([s["l2"] for s in per_block]),
        row_means=np.stack([s["row_means"] for s in per_block]),
        neuron_means=[s["neuron_means"] for s in per_block],
    )


@dataclass(frozen=True)
class SummaryStats:
    """Statistics over a set of per-block mean differences, as the reference library defines them."""

    mean: float
    max: float
    min: float
    std: float  # with Bessel's correction; NaN for a single value
    l1: float
    l2: float
    count: int


def summarize(values: np.ndarray) -> SummaryStats:
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError("No values to summarize; analyse at least one block.")
    return SummaryStats(
        mean=float(values.mean()),
        max=float(values.max()),
        min=float(values.min()),
        std=float(values.std(ddof=1)) if values.size > 1 else math.nan,
        l1=float(np.abs(values).sum()),
        l2=float(np.sqrt(np.square(values).sum())),
        count=int(values.size),
    )


@dataclass(frozen=True)
class Progression:
    """Change of a component's per-block mean difference from the first to the last block."""

    first_to_last_ratio: float
    max_to_first_ratio: float
    is_increasing: bool
    block_with_max: int  # original block index


def progression(block_indices: list[int], means: np.ndarray) -> Progression | None:
    if len(block_indices) < 2:
        return None
    first, last = float(means[0]), float(means[-1])
    peak_position = int(np.argmax(means))
    peak = float(means[peak_position])
    return Progression(
        first_to_last_ratio=last / first if first != 0 else math.inf,
        max_to_first_ratio=peak / first if first != 0 else math.inf,
        is_increasing=last > first,
        block_with_max=block_indices[peak_position],
    )


def _reference_stats(stats: SummaryStats) -> dict:
    return {
        "mean_difference": stats.mean,
        "max_difference": stats.max,
        "min_difference": stats.min,
        "std_difference": stats.std,
        "l1_norm": stats.l1,
        "l2_norm": stats.l2,
    }


def reference_layout(block_indices: list[int], means: dict[str, np.ndarray]) -> dict:
    """Rebuild the dictionary of optipfair's ``calculate_bias_metrics`` from per-block mean differences.

    ``means`` maps component to its per-block mean of D. Keys follow the reference,
    e.g. ``"mlp_output_layer_3"``. Each block's entry summarizes a single number, so its
    max, min, L1 and L2 equal its mean and its std is NaN, exactly as in the reference.
    """
    layout: dict = {"layer_metrics": {}, "overall_metrics": {}, "component_metrics": {}}
    for component, values in means.items():
        for block_idx, value in zip(block_indices, values):
            layout["layer_metrics"][f"{component}_layer_{block_idx}"] = _reference_stats(summarize(np.array([value])))
    for component, values in means.items():
        stats = summarize(values)
        entry = _reference_stats(stats)
        entry["num_layers"] = stats.count
        trend = progression(block_indices, values)
        if trend is not None:
            keys = [f"{component}_layer_{block_idx}" for block_idx in block_indices]
            entry["progression_metrics"] = {
                "first_to_last_ratio": trend.first_to_last_ratio,
                "max_to_first_ratio": trend.max_to_first_ratio,
                "is_increasing": trend.is_increasing,
                "layer_with_max_diff": f"{component}_layer_{trend.block_with_max}",
                "mean_diffs_by_layer": {key: float(value) for key, value in zip(keys, values)},
            }
        layout["component_metrics"][component] = entry
    overall = summarize(np.concatenate([np.asarray(v, dtype=np.float64) for v in means.values()]))
    layout["overall_metrics"] = _reference_stats(overall)
    layout["overall_metrics"]["total_layers"] = overall.count
    return layout
