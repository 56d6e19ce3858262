"""Noise floor: how far activations move when nothing about the prompt changes.

Two sources are measured on the same prompts, per block and component, as the mean absolute
difference over all tokens and units:

* ``repeat``: the same prompt run twice on the same model (non-deterministic kernels, threads),
* ``precision``: the model at its own dtype against a copy at another dtype (bfloat16 for an
  fp32 model, fp32 for a half-precision model), the size of a rounding change.

A bias difference of the same size as the noise floor cannot be distinguished from rounding.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from optipfair_desktop.engine.bias.capture import Activations, capture_activations
from optipfair_desktop.engine.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress

logger = logging.getLogger(__name__)


@dataclass
class NoiseFloor:
    """Mean absolute difference per block (arrays [blocks]) for each component, when the prompt is unchanged."""

    repeat: dict[str, np.ndarray]
    precision: dict[str, np.ndarray]
    model_dtype: str
    other_dtype: str
    prompt_count: int

    def level(self, component: str) -> np.ndarray:
        """Return the larger of the two noise sources per block."""
        return np.maximum(self.repeat[component], self.precision[component])


def model_dtype(model: nn.Module) -> torch.dtype:
    return next(model.parameters()).dtype


def other_precision(dtype: torch.dtype) -> torch.dtype:
    """Return the dtype the precision noise is measured against."""
    return torch.bfloat16 if dtype == torch.float32 else torch.float32


def mean_abs_difference(first: Activations, second: Activations) -> dict[str, np.ndarray]:
    """Return per component the mean |first - second| of each block, for activations of one prompt."""
    return {
        component: np.array(
            [float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean()) for a, b in zip(first[component], second[component])]
        )
        for component in first
    }


def measure_noise_floor(
    model: nn.Module,
    prompt_ids: Sequence[Sequence[int]],
    components: Sequence[str],
    reference: Sequence[Activations] | None = None,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> NoiseFloor:
    """Measure both noise sources on ``prompt_ids`` and average them over the prompts.

    ``reference`` may hold already captured activations of the same prompts on ``model``,
    which saves one forward pass per prompt. The copy at the other dtype is deleted before
    returning; it needs as much memory as the model at that dtype.
    """
    if not prompt_ids:
        raise ValueError("The noise floor needs at least one prompt.")
    own_dtype = model_dtype(model)
    other_dtype = other_precision(own_dtype)
    count = len(prompt_ids)

    repeat_sums: dict[str, np.ndarray] = {}
    first_runs: list[Activations] = []
    for index, ids in enumerate(prompt_ids):
        cancel.check()
        progress(index / (2 * count), f"Noise floor: repeat run {index + 1} of {count}")
        first = reference[index] if reference is not None else capture_activations(model, ids, components)
        second = capture_activations(model, ids, components)
        first_runs.append(first)
        for component, values in mean_abs_difference(first, second).items():
            repeat_sums[component] = repeat_sums.get(component, 0.0) + values

    # NOTE: the deepcopy keeps a second copy of the weights in memory while the precision noise is measured.
    progress(0.5, f"Noise floor: copying the model to {str(other_dtype).removeprefix('torch.')}")
    other_model = copy.deepcopy(model).to(other_dtype)
    precision_sums: dict[str, np.ndarray] = {}
    try:
        for index, ids in enumerate(prompt_ids):
            cancel.check()
            progress(0.5 + index / (2 * count), f"Noise floor: precision run {index + 1} of {count}")
            other = capture_activations(other_model, ids, components)
            for component, values in mean_abs_difference(first_runs[index], other).items():
                precision_sums[component] = precision_sums.get(component, 0.0) + values
    finally:
        del other_model

    progress(1.0, "Noise floor measured")
    return NoiseFloor(
        repeat={component: total / count for component, total in repeat_sums.items()},
        precision={component: total / count for component, total in precision_sums.items()},
        model_dtype=str(own_dtype).removeprefix("torch."),
        other_dtype=str(other_dtype).removeprefix("torch."),
        prompt_count=count,
    )
