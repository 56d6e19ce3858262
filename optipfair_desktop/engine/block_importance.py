"""Block importance: how much each decoder block (or run of blocks) changes the model.

Three criteria, each giving one score per block, higher meaning more important:

* ``cosine``: 1 − cosine similarity between a block's input and output hidden states.
* ``angular``: arccos(cosine) / π between the input of block i and the output of block
  i + n − 1 (Gromov et al., "The Unreasonable Ineffectiveness of the Deeper Layers", 2024).
* ``perplexity``: how much the perplexity on the calibration windows rises when the block is skipped.

The distance criteria read hidden states with forward hooks on the blocks, so the last block is
scored on its own output and not on the model's normed final hidden state. Each hook reduces its
batch to a sum and a token count at once; no hidden state outlives its batch. Tokens are averaged
per batch over real tokens, then the batch means are averaged, which is how
``optipfair.pruning.depth.analyze_layer_importance`` 0.4.2 averages its cosine scores.
"""

from __future__ import annotations

import logging
import math
from typing import Callable

import torch
from torch import nn

from optipfair_desktop.engine import importance_cache
from optipfair_desktop.engine.block_scores import CRITERIA, BlockScores, clean_score, select_least_important
from optipfair_desktop.engine.block_skipping import skip_blocks
from optipfair_desktop.engine.calibration import CalibrationWindows
from optipfair_desktop.engine.model_access import decoder_layers, decoder_model, model_device
from optipfair_desktop.engine.progress import (
    NEVER_CANCELLED,
    CancelToken,
    ProgressCallback,
    no_progress,
    sub_progress,
)
from optipfair_desktop.engine.scoped_hooks import ScopedHooks
from optipfair_desktop.engine.window_perplexity import window_perplexity

logger = logging.getLogger(__name__)

__all__ = [
    "BlockScores", "CRITERIA", "angular_importance", "cached_block_scores", "cosine_importance",
    "distance_importance", "perplexity_importance", "score_blocks", "select_least_important",
]

DEFAULT_BATCH_SIZE = 8

TokenDistance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


COSINE_EPS = 1e-8  # same floor on the norm product as torch.nn.functional.cosine_similarity


def token_cosine(hidden_in: torch.Tensor, hidden_out: torch.Tensor) -> torch.Tensor:
    """Return the cosine similarity per token, [B, L, H] × 2 → [B, L], in fp32.

    Written with vecdot and vector_norm because F.cosine_similarity takes about 9 times as long
    on CPU for [8, 128, 576] inputs (torch 2.13), which would add about 3% to an importance run.
    """
    hidden_in, hidden_out = hidden_in.float(), hidden_out.float()
    dot = torch.linalg.vecdot(hidden_in, hidden_out)
    norms = torch.linalg.vector_norm(hidden_in, dim=-1) * torch.linalg.vector_norm(hidden_out, dim=-1)
    return dot / norms.clamp_min(COSINE_EPS)


def cosine_distance(hidden_in: torch.Tensor, hidden_out: torch.Tensor) -> torch.Tensor:
    """Return 1 − cosine similarity per token, [B, L, H] × 2 → [B, L], computed in fp32."""
    return 1.0 - token_cosine(hidden_in, hidden_out)


def angular_distance(hidden_in: torch.Tensor, hidden_out: torch.Tensor) -> torch.Tensor:
    """Return arccos(cosine similarity) / π per token in fp32; the cosine is clamped to [−1, 1]."""
    return torch.arccos(token_cosine(hidden_in, hidden_out).clamp(-1.0, 1.0)) / math.pi


DISTANCES: dict[str, TokenDistance] = {"cosine": cosine_distance, "angular": angular_distance}


def _check_run_length(run_length: int, num_blocks: int) -> None:
    if not 1 <= run_length <= num_blocks:
        raise ValueError(f"run length must be between 1 and the number of blocks ({num_blocks}), got {run_length}")


def _settings(windows: CalibrationWindows, model: nn.Module, batch_size: int) -> dict:
    return {
        "batch_size": batch_size,
        "num_windows": windows.num_windows,
        "window_length": windows.window_length,
        "calibration": windows.source_name,
        "calibration_hash": windows.content_hash,
        "dtype": importance_cache.dtype_name(next(model.parameters()).dtype),
    }


def scores_cache_key(
    model_identity: str, windows: CalibrationWindows, criterion: str, *, run_length: int, batch_size: int, dtype
) -> str:
    """Return the cache key of a block importance result; ``dtype`` is the model's weight dtype."""
    settings = {"run_length": run_length, "batch_size": batch_size, "dtype": importance_cache.dtype_name(dtype)}
    return importance_cache.cache_key(model_identity, windows.content_hash, f"block-{criterion}", settings)


def cached_block_scores(
    model_identity: str, windows: CalibrationWindows, criterion: str, *, run_length: int = 1,
    batch_size: int = DEFAULT_BATCH_SIZE, dtype="float32",
) -> BlockScores | None:
    """Return a cached result without needing the model, or None when there is none."""
    key = scores_cache_key(model_identity, windows, criterion, run_length=run_length, batch_size=batch_size, dtype=dtype)
    return importance_cache.load_scores(key)


def distance_importance(
    model: nn.Module,
    windows: CalibrationWindows,
    criterion: str = "cosine",
    *,
    run_length: int = 1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> BlockScores:
    """Score each run of ``run_length`` blocks by the distance between its input and its output.

    ``criterion`` is ``"cosine"`` or ``"angular"``. Only the base model runs (no LM head).
    Blocks are assumed not to change their input tensor in place, which holds for the
    transformers Llama, Mistral, Qwen and Gemma blocks.
    """
    if criterion not in DISTANCES:
        raise ValueError(f"unknown distance criterion {criterion!r}; use 'cosine' or 'angular'")
    distance = DISTANCES[criterion]
    base = decoder_model(model)
    layers = decoder_layers(model)
    num_blocks = len(layers)
    _check_run_length(run_length, num_blocks)
    num_runs = num_blocks - run_length + 1
    device = model_device(model)

    # Per batch: the real-token mask, the inputs of the runs still open, and per run the sum of
    # token distances and the token count.
    batch: dict = {}
    batch_means: list[list[float]] = [[] for _ in range(num_runs)]

    def make_hook(block_idx: int):
        def hook(module, args, kwargs, output):
            cancel.check()
            hidden_in = args[0] if args else kwargs["hidden_states"]
            hidden_out = output[0] if isinstance(output, tuple) else output
            if run_length > 1:
                batch["open_inputs"][block_idx] = hidden_in
            start = block_idx - run_length + 1
            if start < 0:
                return
            source = hidden_in if run_length == 1 else batch["open_inputs"].pop(start)
            per_token = distance(source, hidden_out)  # [B, L]
            mask = batch["mask"]
            if mask is None:
                batch["sums"][start] = per_token.sum(dtype=torch.float64)
            else:
                batch["sums"][start] = torch.where(mask, per_token, 0.0).sum(dtype=torch.float64)
        return hook

    hooks = ScopedHooks()
    for index, layer in enumerate(layers):
        hooks.add_forward(layer, make_hook(index), with_kwargs=True)
    num_batches = windows.num_batches(batch_size)
    try:
        with torch.inference_mode():
            for batch_index, (input_ids, attention_mask) in enumerate(windows.batches(batch_size)):
                cancel.check()
                real = attention_mask.bool()
                count = int(real.sum())
                batch.update(
                    mask=None if count == real.numel() else real.to(device),
                    open_inputs={},
                    sums=[None] * num_runs,
                )
                base(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device), use_cache=False)

                if count:
                    for start, total in enumerate(batch["sums"]):
                        if total is not None:
                            mean = float(total) / count
                            if math.isfinite(mean):
                                batch_means[start].append(mean)
                batch.clear()
                progress((batch_index + 1) / num_batches, f"{criterion}: batch {batch_index + 1}/{num_batches}")
    finally:
        hooks.close()
        batch.clear()

    scores = [clean_score(sum(means) / len(means)) if means else None for means in batch_means]
    unknown = [index for index, score in enumerate(scores) if score is None]
    if unknown:
        logger.warning("%s importance is unknown for block run(s) %s (no real token or no finite value)", criterion, unknown)
    return BlockScores(criterion, scores, run_length, _settings(windows, model, batch_size))


def cosine_importance(
    model: nn.Module,
    windows: CalibrationWindows,
    *,
    run_length: int = 1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> BlockScores:
    """Score each block by 1 − cosine similarity between its input and output hidden states."""
    return distance_importance(
        model, windows, "cosine", run_length=run_length, batch_size=batch_size, progress=progress, cancel=cancel
    )


def angular_importance(
    model: nn.Module,
    windows: CalibrationWindows,
    *,
    run_length: int = 1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> BlockScores:
    """Score each run of ``run_length`` blocks by the angular distance from its input to its output."""
    return distance_importance(
        model, windows, "angular", run_length=run_length, batch_size=batch_size, progress=progress, cancel=cancel
    )


def perplexity_importance(
    model: nn.Module,
    windows: CalibrationWindows,
    *,
    run_length: int = 1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> BlockScores:
    """Score each run of blocks by the perplexity increase on ``windows`` when the run is skipped.

    Takes one full forward pass over the windows per run, plus one for the full model.
    """
    num_blocks = len(decoder_layers(model))
    _check_run_length(run_length, num_blocks)
    if run_length >= num_blocks:
        raise ValueError(f"run length {run_length} would skip every block; use at most {num_blocks - 1}")
    num_runs = num_blocks - run_length + 1
    steps = num_runs + 1

    baseline = window_perplexity(
        model, windows, batch_size=batch_size, progress=sub_progress(progress, 0.0, 1.0 / steps), cancel=cancel
    )
    scores: list[float | None] = []
    for start in range(num_runs):
        cancel.check()
        step_progress = sub_progress(progress, (start + 1) / steps, (start + 2) / steps)
        with skip_blocks(model, range(start, start + run_length)):
            skipped = window_perplexity(model, windows, batch_size=batch_size, progress=step_progress, cancel=cancel)
        scores.append(clean_score(skipped - baseline))
        progress((start + 2) / steps, f"perplexity: skipped block {start}, {skipped:.2f} (full model {baseline:.2f})")
    return BlockScores("perplexity", scores, run_length, _settings(windows, model, batch_size), baseline_perplexity=baseline)


def score_blocks(
    model: nn.Module,
    windows: CalibrationWindows,
    criterion: str,
    *,
    run_length: int = 1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    model_identity: str | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> BlockScores:
    """Score every block (or run of blocks) by ``criterion``: "cosine", "angular" or "perplexity".

    With a ``model_identity`` string (see ``importance_cache.model_identity_for_folder``), results
    are cached per model, calibration windows and settings, and a cached result returns at once.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"unknown importance criterion {criterion!r}; use one of {', '.join(CRITERIA)}")
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")

    key = None
    if model_identity is not None:
        dtype = next(model.parameters()).dtype
        key = scores_cache_key(model_identity, windows, criterion, run_length=run_length, batch_size=batch_size, dtype=dtype)
        cached = importance_cache.load_scores(key)
        if cached is not None:
            logger.info("Block importance (%s) read from the cache", criterion)
            progress(1.0, f"{criterion}: read from the cache")
            return cached

    if criterion == "perplexity":
        result = perplexity_importance(
            model, windows, run_length=run_length, batch_size=batch_size, progress=progress, cancel=cancel
        )
    else:
        result = distance_importance(
            model, windows, criterion, run_length=run_length, batch_size=batch_size, progress=progress, cancel=cancel
        )

    if key is not None:
        importance_cache.store_scores(key, result)
    return result
