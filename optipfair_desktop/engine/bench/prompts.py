"""Prompt token ids of a fixed length for speed runs."""

from __future__ import annotations

import torch

from optipfair_desktop.engine.bench.texts import calibration_text


def benchmark_prompt_ids(tokenizer, prompt_length: int, vocab_size: int) -> torch.Tensor:
    """Return prompt ids [1, prompt_length].

    With a tokenizer, the ids are the calibration text's tokens, repeated when it is too
    short. Without one (tiny test models), they are fixed pseudo-random ids below
    ``vocab_size``.
    """
    if prompt_length < 1:
        raise ValueError(f"prompt length must be at least 1 token, got {prompt_length}.")
    if tokenizer is None:
        generator = torch.Generator().manual_seed(0)
        low = min(3, vocab_size - 1)
        return torch.randint(low, vocab_size, (1, prompt_length), generator=generator)

    # English averages well under 10 characters per token, so this prefix is long enough.
    ids = tokenizer.encode(calibration_text()[: prompt_length * 10 + 100], add_special_tokens=False)
    if not ids:
        raise ValueError("the tokenizer returned no tokens for the calibration text")
    repeats = -(-prompt_length // len(ids))
    return torch.tensor((ids * repeats)[:prompt_length]).unsqueeze(0)
