"""Before vs after: the same prompt pairs on the original model and on a pruned one.

A pruned model's block j is the original block ``remaining_blocks[j]``. For a model built from
the current plan, ``PruneResult.remaining_blocks`` gives the mapping; for a saved checkpoint it
comes from the ``remove_blocks`` in its ``pruning_plan.json``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import nn

from optipfair_desktop.engine.bias.analysis import BiasAnalysis, analyze_pairs
from optipfair_desktop.engine.model_access import decoder_layers
from optipfair_desktop.engine.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress, sub_progress

logger = logging.getLogger(__name__)

PLAN_FILE = "pruning_plan.json"


@dataclass
class BiasComparison:
    """The original and the pruned analyses of the same pairs, on the original block numbering."""

    original: BiasAnalysis
    pruned: BiasAnalysis
    label: str  # what the pruned model is, e.g. "planned model" or a folder path

    @property
    def removed_blocks(self) -> list[int]:
        kept = set(self.pruned.block_indices)
        return [b for b in self.original.block_indices if b not in kept]

    def curves(self, component: str, stat: str = "mean", pair_index: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (original, pruned, pruned - original), each [original blocks]; NaN marks removed blocks."""
        original = self.original.block_stat(component, stat, pair_index)
        pruned_values = self.pruned.block_stat(component, stat, pair_index)
        position = {block_idx: i for i, block_idx in enumerate(self.original.block_indices)}
        pruned = np.full_like(original, np.nan)
        for value, block_idx in zip(pruned_values, self.pruned.block_indices):
            pruned[position[block_idx]] = value
        return original, pruned, pruned - original

    def worse_blocks(self, component: str, pair_index: int | None = None) -> list[int]:
        """Return the original block indices where pruning increased the divergence beyond the noise floor."""
        _, _, difference = self.curves(component, "mean", pair_index)
        noise = self.original.noise_level(component)
        threshold = np.zeros_like(difference) if noise is None else noise
        with np.errstate(invalid="ignore"):
            worse = difference > threshold
        return [b for b, flag in zip(self.original.block_indices, worse) if flag]


def compare_with_pruned(
    original: BiasAnalysis,
    pruned_model: nn.Module,
    tokenizer,
    remaining_blocks: list[int],
    *,
    label: str,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> BiasComparison:
    """Analyse the pairs of ``original`` on ``pruned_model`` with the same mode and components."""
    unknown = [b for b in remaining_blocks if b not in original.block_indices]
    if unknown:
        raise ValueError(f"The pruned model maps to blocks {unknown}, which the original analysis does not have.")
    pruned = analyze_pairs(
        pruned_model,
        tokenizer,
        [result.pair for result in original.pairs],
        mode=original.mode,
        components=original.components,
        block_indices=remaining_blocks,
        noise_floor=False,
        progress=progress,
        cancel=cancel,
    )
    return BiasComparison(original=original, pruned=pruned, label=label)


def remaining_blocks_of_checkpoint(folder: Path | str, pruned_block_count: int, original_block_count: int) -> list[int]:
    """Map a saved checkpoint's blocks to original block indices using its pruning_plan.json."""
    folder = Path(folder)
    plan_path = folder / PLAN_FILE
    if not plan_path.is_file():
        if pruned_block_count == original_block_count:
            return list(range(original_block_count))
        raise ValueError(
            f"{folder} has {pruned_block_count} blocks, the original {original_block_count}, and no {PLAN_FILE} "
            "says which were removed; compare a checkpoint saved by this app."
        )
    try:
        data = json.loads(plan_path.read_text(encoding="utf-8"))
        removed = sorted({int(i) for i in data.get("remove_blocks") or []})
    except (json.JSONDecodeError, TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"{plan_path} is not a readable pruning plan: {error}") from error
    remaining = [i for i in range(original_block_count) if i not in removed]
    if len(remaining) != pruned_block_count:
        raise ValueError(
            f"{plan_path} removes {len(removed)} of {original_block_count} blocks, leaving {len(remaining)}, "
            f"but the checkpoint has {pruned_block_count}; it was pruned from another model."
        )
    return remaining


def load_checkpoint_model(folder: Path | str) -> nn.Module:
    """Load a saved checkpoint with plain ``AutoModelForCausalLM.from_pretrained``, in eval mode."""
    from transformers import AutoModelForCausalLM

    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise ValueError(f"{folder} has no config.json; choose a checkpoint folder saved by this app.")
    model = AutoModelForCausalLM.from_pretrained(folder)
    model.eval()
    return model


def compare_with_checkpoint(
    original: BiasAnalysis,
    folder: Path | str,
    tokenizer,
    *,
    device: str | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> BiasComparison:
    """Load the checkpoint in ``folder`` and compare it with ``original``.

    The original model's tokenizer is used for both, so both models see the same token ids.
    """
    progress(0.0, f"Loading {folder}")
    model = load_checkpoint_model(folder)
    if device is not None:
        model.to(device)
    cancel.check()
    remaining = remaining_blocks_of_checkpoint(folder, len(decoder_layers(model)), len(original.block_indices))
    try:
        return compare_with_pruned(
            original, model, tokenizer, remaining, label=str(folder),
            progress=sub_progress(progress, 0.2, 1.0), cancel=cancel,
        )
    finally:
        del model
