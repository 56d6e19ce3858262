"""Run prompt pairs through a model and measure where their activations diverge, block by block."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from torch import nn

from optipfair_desktop.engine.bias.alignment import TokenAlignment, align_tokens, check_mode, comparison_rows, row_labels
from optipfair_desktop.engine.bias.capture import COMPONENTS, Activations, capture_activations, check_components
from optipfair_desktop.engine.bias.metrics import (
    ComponentDifferences,
    SummaryStats,
    block_difference_stats,
    reference_layout,
    stack_block_stats,
    summarize,
)
from optipfair_desktop.engine.bias.noise import NoiseFloor, measure_noise_floor, model_dtype
from optipfair_desktop.engine.bias.pairs import PromptPair
from optipfair_desktop.engine.model_access import decoder_layers
from optipfair_desktop.engine.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress, sub_progress

logger = logging.getLogger(__name__)

# Prompts used for the noise floor: enough to average out, few enough to stay quick.
NOISE_FLOOR_PROMPTS = 6


@dataclass
class PairAnalysis:
    """Result for one prompt pair: its alignment and, per component, the block-by-block differences."""

    pair: PromptPair
    alignment: TokenAlignment
    mode: str
    row_labels: list[str]  # one per compared row (rows of ComponentDifferences.row_means)
    differences: dict[str, ComponentDifferences]
    activations_a: Activations | None = None  # kept for the PCA view when requested
    activations_b: Activations | None = None


@dataclass
class BiasAnalysis:
    """Result for a set of prompt pairs on one model."""

    mode: str
    components: tuple[str, ...]
    block_indices: list[int]  # original block index of each analysed block, in order
    pairs: list[PairAnalysis]
    noise_floor: NoiseFloor | None
    model_dtype: str

    def _selected(self, pair_index: int | None) -> list[PairAnalysis]:
        if pair_index is None:
            return self.pairs
        if not 0 <= pair_index < len(self.pairs):
            raise ValueError(f"Pair index {pair_index} is out of range; the analysis has {len(self.pairs)} pairs.")
        return [self.pairs[pair_index]]

    def block_stat(self, component: str, stat: str = "mean", pair_index: int | None = None) -> np.ndarray:
        """Return a block statistic [blocks] for one pair, or its mean over all pairs when ``pair_index`` is None."""
        if component not in self.components:
            raise ValueError(f"Component {component!r} was not analysed; choose one of {', '.join(self.components)}.")
        return np.mean([p.differences[component].stat(stat) for p in self._selected(pair_index)], axis=0)

    def component_summary(self, component: str, pair_index: int | None = None) -> SummaryStats:
        """Summarize the per-block mean differences of a component, as the reference library does."""
        return summarize(self.block_stat(component, "mean", pair_index))

    def overall_summary(self, pair_index: int | None = None) -> SummaryStats:
        return summarize(np.concatenate([self.block_stat(c, "mean", pair_index) for c in self.components]))

    def reference_layout(self, pair_index: int) -> dict:
        """Return one pair's result in the layout of optipfair's ``calculate_bias_metrics``."""
        means = {c: self.block_stat(c, "mean", pair_index) for c in self.components}
        return reference_layout(self.block_indices, means)

    def noise_level(self, component: str) -> np.ndarray | None:
        return None if self.noise_floor is None else self.noise_floor.level(component)


def analyze_pair(
    model: nn.Module,
    tokenizer,
    pair: PromptPair,
    mode: str = "aligned",
    components: Sequence[str] = COMPONENTS,
    keep_activations: bool = False,
) -> tuple[PairAnalysis, Activations]:
    """Analyse one pair; also return prompt A's activations for reuse by the noise floor."""
    check_mode(mode)
    alignment = align_tokens(tokenizer, pair.prompt_a, pair.prompt_b)
    activations_a = capture_activations(model, alignment.ids_a, components)
    activations_b = capture_activations(model, alignment.ids_b, components)

    differences = {}
    for component in components:
        per_block = []
        for block_a, block_b in zip(activations_a[component], activations_b[component]):
            rows_a, rows_b = comparison_rows(block_a, block_b, alignment, mode)
            per_block.append(block_difference_stats(rows_a, rows_b))
        differences[component] = stack_block_stats(per_block)

    result = PairAnalysis(
        pair=pair,
        alignment=alignment,
        mode=mode,
        row_labels=row_labels(alignment, mode),
        differences=differences,
        activations_a=activations_a if keep_activations else None,
        activations_b=activations_b if keep_activations else None,
    )
    return result, activations_a


def analyze_pairs(
    model: nn.Module,
    tokenizer,
    pairs: Sequence[PromptPair],
    *,
    mode: str = "aligned",
    components: Sequence[str] = COMPONENTS,
    block_indices: Sequence[int] | None = None,
    noise_floor: bool = True,
    keep_activations: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> BiasAnalysis:
    """Analyse every pair on ``model`` and, optionally, measure the noise floor.

    ``block_indices`` gives the original block index of each of the model's blocks. Pass a
    pruned model's ``remaining_blocks`` so that its results line up with the original model's.
    ``keep_activations`` keeps every pair's activations for the PCA view, so memory grows with
    pairs x blocks x tokens x intermediate_size.
    """
    check_mode(mode)
    components = check_components(components)
    if not pairs:
        raise ValueError("No prompt pairs to analyse; add at least one pair.")
    num_blocks = len(decoder_layers(model))
    indices = list(range(num_blocks)) if block_indices is None else [int(i) for i in block_indices]
    if len(indices) != num_blocks:
        raise ValueError(
            f"block_indices lists {len(indices)} blocks but the model has {num_blocks}; "
            "pass one original block index per remaining block."
        )

    analysis_share = 0.7 if noise_floor else 1.0
    results: list[PairAnalysis] = []
    first_activations: list[Activations] = []
    for index, pair in enumerate(pairs):
        cancel.check()
        progress(analysis_share * index / len(pairs), f"Pair {index + 1} of {len(pairs)}: {pair.label}")
        result, activations_a = analyze_pair(model, tokenizer, pair, mode, components, keep_activations)
        results.append(result)
        if noise_floor and index < NOISE_FLOOR_PROMPTS:
            first_activations.append(activations_a)

    floor = None
    if noise_floor:
        prompts = [result.alignment.ids_a for result in results[:NOISE_FLOOR_PROMPTS]]
        floor = measure_noise_floor(
            model, prompts, components, reference=first_activations,
            progress=sub_progress(progress, analysis_share, 1.0), cancel=cancel,
        )
    progress(1.0, f"Analysed {len(pairs)} prompt pairs ({mode} comparison)")
    return BiasAnalysis(
        mode=mode,
        components=components,
        block_indices=indices,
        pairs=results,
        noise_floor=floor,
        model_dtype=str(model_dtype(model)).removeprefix("torch."),
    )
