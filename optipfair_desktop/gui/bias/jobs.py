"""The bias panel's long jobs: plain functions of the session and engine, run by a JobRunner.

They touch no widget. Each loads the session's model through ``session.load_model`` (cached
after the first call) and returns plain data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from optipfair_desktop.engine.bias.ablation import AblationPreview, ablation_preview
from optipfair_desktop.engine.bias.alignment import TokenAlignment, align_tokens
from optipfair_desktop.engine.bias.analysis import BiasAnalysis, analyze_pairs
from optipfair_desktop.engine.bias.compare import BiasComparison, compare_with_checkpoint, compare_with_pruned
from optipfair_desktop.engine.bias.fairness import FairnessScores, model_fairness_scores, neurons_to_prune
from optipfair_desktop.engine.bias.pairs import PromptPair
from optipfair_desktop.engine.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress, sub_progress

logger = logging.getLogger(__name__)


@dataclass
class AnalysisJobResult:
    analysis: BiasAnalysis
    tokenizer: object


def _load(session, progress: ProgressCallback, cancel: CancelToken, end: float):
    return session.load_model(progress=sub_progress(progress, 0.0, end), cancel=cancel)


def analysis_job(
    session, pairs: list[PromptPair], mode: str, *, progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> AnalysisJobResult:
    """Analyse ``pairs`` on the session's model, keeping activations for the PCA view."""
    model, tokenizer = _load(session, progress, cancel, 0.2)
    # NOTE: kept activations cost pairs x blocks x tokens x (2 hidden_size + 2 intermediate_size)
    # floats, about 20 MB per pair on SmolLM2-135M with 20-token prompts.
    analysis = analyze_pairs(model, tokenizer, pairs, mode=mode, keep_activations=True,
                             progress=sub_progress(progress, 0.2, 1.0), cancel=cancel)
    return AnalysisJobResult(analysis, tokenizer)


def tokenize_job(
    session, pair: PromptPair, *, progress: ProgressCallback = no_progress, cancel: CancelToken = NEVER_CANCELLED,
) -> tuple[TokenAlignment, object]:
    """Align one pair's tokens; also return the tokenizer so later pairs need no job."""
    _, tokenizer = _load(session, progress, cancel, 0.9)
    return align_tokens(tokenizer, pair.prompt_a, pair.prompt_b), tokenizer


def importance_method(session) -> tuple[str, str]:
    """Return the width criterion that supplies the importance, and a note when it is not the plan's."""
    method = getattr(session.plan, "method", "ppm")
    if method == "hybrid" and not getattr(session, "activation_norms", None):
        return "ppm", "the plan's hybrid criterion needs calibration norms, which are not computed yet, so importance uses ppm"
    return method, ""


def fairness_job(
    session, analysis: BiasAnalysis, blocks: list[int], bias_weight: float, aggregation: str, *,
    progress: ProgressCallback = no_progress, cancel: CancelToken = NEVER_CANCELLED,
) -> FairnessScores:
    model, _ = _load(session, progress, cancel, 0.5)
    method, note = importance_method(session)
    if note:
        logger.info("Fairness scores: %s", note)
    norms = getattr(session, "activation_norms", None) if method == "hybrid" else None
    progress(0.6, f"Scoring {len(blocks)} blocks")
    return model_fairness_scores(model, analysis, blocks=blocks, bias_weight=bias_weight,
                                 aggregation=aggregation, method=method, activation_norms=norms)


def ablation_job(
    session, pair: PromptPair, fairness: FairnessScores, percent: float, max_new_tokens: int, *,
    progress: ProgressCallback = no_progress, cancel: CancelToken = NEVER_CANCELLED,
) -> AblationPreview:
    """Zero the neuron pairs that ``percent`` % of each scored block would lose, and generate."""
    model, tokenizer = _load(session, progress, cancel, 0.1)
    divisor = getattr(session.plan, "divisor", None)
    hidden_size = model.config.hidden_size
    neurons = {block_idx: neurons_to_prune(scores, percent, hidden_size=hidden_size, divisor=divisor, block_idx=block_idx)
               for block_idx, scores in fairness.scores.items()}
    return ablation_preview(model, tokenizer, pair, neurons, max_new_tokens=max_new_tokens,
                            progress=sub_progress(progress, 0.1, 1.0), cancel=cancel)


def compare_planned_job(
    session, analysis: BiasAnalysis, *, progress: ProgressCallback = no_progress, cancel: CancelToken = NEVER_CANCELLED,
) -> BiasComparison:
    _, tokenizer = _load(session, progress, cancel, 0.1)
    result = session.build_planned_model(progress=sub_progress(progress, 0.1, 0.4), cancel=cancel)
    return compare_with_pruned(analysis, result.model, tokenizer, list(result.remaining_blocks), label="planned model",
                               progress=sub_progress(progress, 0.4, 1.0), cancel=cancel)


def compare_checkpoint_job(
    session, analysis: BiasAnalysis, folder: str | Path, *, progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> BiasComparison:
    model, tokenizer = _load(session, progress, cancel, 0.1)
    device = str(next(model.parameters()).device)
    return compare_with_checkpoint(analysis, folder, tokenizer, device=device,
                                   progress=sub_progress(progress, 0.1, 1.0), cancel=cancel)
