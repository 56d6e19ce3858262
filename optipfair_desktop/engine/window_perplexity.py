"""Perplexity of a causal LM on calibration windows, counting real tokens only."""

from __future__ import annotations

import logging
import math

import torch
import torch.nn.functional as F
from torch import nn

from optipfair_desktop.engine.calibration import CalibrationWindows
from optipfair_desktop.engine.model_access import model_device
from optipfair_desktop.engine.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 8


def window_nll(
    model: nn.Module,
    windows: CalibrationWindows,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> tuple[float, int]:
    """Return the summed next-token negative log-likelihood and the number of predicted tokens.

    A token is predicted when both it and the token before it are real (mask 1), so padding
    never enters the sum.
    """
    device = model_device(model)
    total_nll = 0.0
    total_tokens = 0
    num_batches = windows.num_batches(batch_size)
    with torch.inference_mode():
        for batch_index, (input_ids, attention_mask) in enumerate(windows.batches(batch_size)):
            cancel.check()
            input_ids = input_ids.to(device)
            attention_mask = attention_mask.to(device)
            logits = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits

            labels = input_ids[:, 1:]
            predicted = (attention_mask[:, 1:] * attention_mask[:, :-1]).bool()
            # One window at a time keeps the fp32 copy of the logits small for large vocabularies.
            for row in range(input_ids.shape[0]):
                if predicted[row].any():
                    row_logits = logits[row, :-1][predicted[row]].float()
                    total_nll += float(F.cross_entropy(row_logits, labels[row][predicted[row]], reduction="sum"))
            total_tokens += int(predicted.sum())
            progress((batch_index + 1) / num_batches, f"Perplexity: batch {batch_index + 1}/{num_batches}")
    return total_nll, total_tokens


def window_perplexity(
    model: nn.Module,
    windows: CalibrationWindows,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> float:
    """Return exp(mean next-token NLL) over all real tokens of the windows (token-weighted)."""
    total_nll, total_tokens = window_nll(model, windows, batch_size=batch_size, progress=progress, cancel=cancel)
    if total_tokens == 0:
        raise ValueError("the windows hold no pair of consecutive real tokens, so perplexity is undefined")
    return math.exp(total_nll / total_tokens)
