"""Work of the importance panel, run in its worker thread: no widget is touched here."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from optipfair_desktop.engine.activation_norms import cached_activation_norms, collect_activation_norms
from optipfair_desktop.engine.block_importance import DEFAULT_BATCH_SIZE, cached_block_scores, score_blocks
from optipfair_desktop.engine.block_scores import BlockScores
from optipfair_desktop.engine.calibration import CalibrationWindows, load_calibration_windows
from optipfair_desktop.engine.importance_cache import model_identity_for_folder
from optipfair_desktop.engine.model_access import decoder_layers, glu_mlp, has_glu_mlp
from optipfair_desktop.engine.neuron_importance import keep_scores_from_prune_scores, neuron_pair_scores
from optipfair_desktop.engine.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress, sub_progress

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnalysisSettings:
    """Settings chosen in the panel."""

    criterion: str = "cosine"
    run_length: int = 1
    calibration_path: str | None = None  # None: the shipped Brown Corpus sample
    num_windows: int = 32
    window_length: int = 128
    batch_size: int = DEFAULT_BATCH_SIZE
    collect_norms: bool = True


@dataclass(frozen=True)
class AnalysisResult:
    """Block scores, and the activation norms for the hybrid width criterion when collected."""

    scores: BlockScores | None
    activation_norms: dict[int, torch.Tensor] | None
    calibration: dict  # source name, content hash and window settings, stored in the plan


def _model_identity(session) -> str | None:
    folder = getattr(getattr(session, "source", None), "folder", None)
    return model_identity_for_folder(folder) if folder is not None else None


def _calibration_record(windows: CalibrationWindows, settings: AnalysisSettings) -> dict:
    return {
        "source": windows.source_name,
        "path": settings.calibration_path,
        "hash": windows.content_hash,
        "num_windows": windows.num_windows,
        "window_length": windows.window_length,
        "batch_size": settings.batch_size,
    }


def _windows(tokenizer, settings: AnalysisSettings) -> CalibrationWindows:
    return load_calibration_windows(
        tokenizer, settings.calibration_path, window_length=settings.window_length, num_windows=settings.num_windows
    )


def run_analysis(
    session,
    settings: AnalysisSettings,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> AnalysisResult:
    """Load the session's model, score its blocks and, if asked, collect activation norms."""
    model, tokenizer = session.load_model(sub_progress(progress, 0.0, 0.15), cancel)
    cancel.check()
    progress(0.15, f"Reading calibration text {Path(settings.calibration_path).name if settings.calibration_path else '(default)'}")
    windows = _windows(tokenizer, settings)
    identity = _model_identity(session)

    scores_end = 0.7 if settings.collect_norms else 1.0
    scores = score_blocks(
        model, windows, settings.criterion,
        run_length=settings.run_length,
        batch_size=settings.batch_size,
        model_identity=identity,
        progress=sub_progress(progress, 0.2, scores_end),
        cancel=cancel,
    )
    norms = None
    if settings.collect_norms and any(has_glu_mlp(block) for block in decoder_layers(model)):
        norms = collect_activation_norms(
            model, windows, batch_size=settings.batch_size, model_identity=identity,
            progress=sub_progress(progress, scores_end, 1.0), cancel=cancel,
        )
    progress(1.0, "Importance analysis done")
    return AnalysisResult(scores, norms, _calibration_record(windows, settings))


def read_cached_analysis(
    session,
    settings: AnalysisSettings,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> AnalysisResult | None:
    """Return earlier results for these settings from the cache, reading only the tokenizer.

    Returns None when the source has no folder or nothing is cached for these settings.
    """
    from transformers import AutoTokenizer

    identity = _model_identity(session)
    structure = getattr(session, "structure", None)
    if identity is None or structure is None:
        return None
    progress(0.1, "Looking for cached importance results")
    try:
        tokenizer = AutoTokenizer.from_pretrained(session.source.folder)
        cancel.check()
        windows = _windows(tokenizer, settings)
    except (OSError, ValueError) as error:
        # A failed lookup only means no earlier results are shown; Analyze reports the error itself.
        logger.warning("Could not look up cached importance results for %s: %s", session.source.folder, error)
        return None
    dtype = structure.dtype
    scores = cached_block_scores(
        identity, windows, settings.criterion, run_length=settings.run_length, batch_size=settings.batch_size, dtype=dtype
    )
    norms = cached_activation_norms(identity, windows, batch_size=settings.batch_size, dtype=dtype) if settings.collect_norms else None
    progress(1.0, "Cached importance results read" if scores is not None else "No cached importance results")
    if scores is None and norms is None:
        return None
    return AnalysisResult(scores, norms, _calibration_record(windows, settings))


def sorted_neuron_scores(
    session,
    block_idx: int,
    method: str,
    activation_norms: dict[int, torch.Tensor] | None,
    custom_prune_scores: list[float] | None = None,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> np.ndarray:
    """Return one block's neuron-pair keep scores, sorted from most to least important.

    ``custom_prune_scores`` (for example fairness scores, higher = prune first) replace the criterion.
    """
    model, _ = session.load_model(sub_progress(progress, 0.0, 0.9), cancel)
    layers = decoder_layers(model)
    if not 0 <= block_idx < len(layers):
        raise ValueError(f"block {block_idx} does not exist; the model has {len(layers)} blocks")
    mlp = glu_mlp(layers[block_idx])
    if custom_prune_scores is not None:
        scores = keep_scores_from_prune_scores(torch.tensor(custom_prune_scores, dtype=torch.float32))
    else:
        norms = activation_norms.get(block_idx) if activation_norms else None
        scores = neuron_pair_scores(mlp, method, norms)
    progress(1.0, f"Neuron-pair scores of block {block_idx}")
    return np.sort(scores.detach().cpu().numpy())[::-1].copy()
