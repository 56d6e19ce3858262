"""Sliding-window perplexity, the method of the Hugging Face perplexity guide.

Windows of ``context_length`` tokens start every ``stride`` tokens. Each window scores only
the tokens that no earlier window scored, so no token counts twice. With a stride below the
context length every token after the first is scored, with at least
``context_length - stride`` tokens of context (fewer near the start of the text). With the
stride equal to the context length the windows do not overlap and each window's first token,
having no context, is not scored.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from optipfair_desktop.engine.bench.devices import dtype_name
from optipfair_desktop.engine.model_access import model_device
from optipfair_desktop.engine.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress

logger = logging.getLogger(__name__)

# Characters tokenized per requested token before falling back to the whole text; English
# text averages about 4 to 5 characters per token with common tokenizers.
PREFIX_CHARS_PER_TOKEN = 8
PREFIX_MARGIN_TOKENS = 16


@dataclass(frozen=True)
class PerplexityResult:
    """Perplexity of one model on one text, with the settings it was measured at."""

    text_name: str
    perplexity: float
    mean_nll: float  # nats per scored token
    tokens_scored: int
    text_tokens: int
    context_length: int
    stride: int
    windows: int
    dtype: str
    device: str

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "PerplexityResult":
        return cls(**data)


def _check_window(model: nn.Module, context_length: int, stride: int) -> None:
    if context_length < 2:
        raise ValueError(f"context length must be at least 2 tokens, got {context_length}.")
    if not 1 <= stride <= context_length:
        raise ValueError(f"stride must be between 1 and the context length {context_length}, got {stride}.")
    max_positions = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    if max_positions is not None and context_length > max_positions:
        raise ValueError(
            f"context length {context_length} exceeds the model's max_position_embeddings "
            f"{max_positions}; use a shorter context length."
        )


def sliding_window_perplexity(
    model: nn.Module,
    token_ids: Sequence[int] | torch.Tensor,
    *,
    context_length: int = 512,
    stride: int = 256,
    text_name: str = "text",
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> PerplexityResult:
    """Compute the perplexity of ``model`` on ``token_ids`` [N] with sliding windows."""
    _check_window(model, context_length, stride)
    ids = torch.as_tensor(token_ids, dtype=torch.long).flatten()
    total = int(ids.numel())
    if total < 2:
        raise ValueError(f"{text_name!r} has {total} token(s); perplexity needs at least 2.")
    device = model_device(model)
    ids = ids.to(device)

    nll_sum = 0.0
    scored = 0
    windows = 0
    previous_end = 0
    with torch.inference_mode():
        for begin in range(0, total, stride):
            cancel.check()
            end = min(begin + context_length, total)
            first_target = max(previous_end, begin + 1)

            # Logits at window position j predict token begin + j + 1; keep those for the
            # targets first_target .. end - 1 plus the last position, which predicts nothing here.
            keep = end - first_target + 1
            logits = model(input_ids=ids[begin:end].unsqueeze(0), logits_to_keep=keep).logits[0, :-1]
            targets = ids[first_target:end]
            nll_sum += float(F.cross_entropy(logits.float(), targets, reduction="sum"))

            scored += end - first_target
            windows += 1
            previous_end = end
            progress(end / total, f"Perplexity on {text_name}: {end}/{total} tokens")
            if end == total:
                break

    mean_nll = nll_sum / scored
    return PerplexityResult(
        text_name=text_name,
        perplexity=math.exp(mean_nll),
        mean_nll=mean_nll,
        tokens_scored=scored,
        text_tokens=total,
        context_length=context_length,
        stride=stride,
        windows=windows,
        dtype=dtype_name(next(model.parameters()).dtype),
        device=str(device),
    )


def text_perplexity(
    model: nn.Module,
    tokenizer,
    text: str,
    *,
    text_name: str,
    context_length: int = 512,
    stride: int = 256,
    max_tokens: int | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> PerplexityResult:
    """Tokenize ``text`` (its first ``max_tokens`` tokens when given) and compute its perplexity."""
    if max_tokens is not None and max_tokens < 2:
        raise ValueError(f"max tokens must be at least 2, got {max_tokens}.")
    ids = None
    if max_tokens is not None:
        # Tokenizing a prefix is far cheaper than the whole file. Tokens next to the cut may
        # differ from the whole text's, so the prefix must reach a margin past max_tokens.
        prefix = tokenizer.encode(text[: max_tokens * PREFIX_CHARS_PER_TOKEN])
        if len(prefix) > max_tokens + PREFIX_MARGIN_TOKENS:
            ids = prefix[:max_tokens]
    if ids is None:
        ids = tokenizer.encode(text)
        if max_tokens is not None:
            ids = ids[:max_tokens]
    return sliding_window_perplexity(
        model, ids, context_length=context_length, stride=stride, text_name=text_name,
        progress=progress, cancel=cancel,
    )
