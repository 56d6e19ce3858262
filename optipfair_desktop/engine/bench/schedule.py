"""Order of the runs in a comparison: warm-ups first, then models interleaved A, B, A, B.

Interleaving spreads slow drifts of the machine (thermal throttling, a background job) over
every model alike, and each repeat forms a pair whose ratio cancels what the pair shares.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScheduledRun:
    model_index: int
    repeat: int  # 0-based; for warm-ups, the warm-up number
    warmup: bool


def interleaved_order(num_models: int, repeats: int, warmups: int) -> list[ScheduledRun]:
    """Return the run order: each model's warm-ups, then ``repeats`` rounds over all models."""
    if num_models < 1:
        raise ValueError(f"a benchmark needs at least one model, got {num_models}.")
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}.")
    if warmups < 0:
        raise ValueError(f"warm-ups must be 0 or more, got {warmups}.")

    order = [
        ScheduledRun(model_index, warmup, True)
        for model_index in range(num_models)
        for warmup in range(warmups)
    ]
    order += [
        ScheduledRun(model_index, repeat, False)
        for repeat in range(repeats)
        for model_index in range(num_models)
    ]
    return order
