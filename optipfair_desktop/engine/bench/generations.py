"""Greedy generations of the same prompts by several models, for reading side by side."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from torch import nn

from optipfair_desktop.engine.bench.speed import decode_step, prefill
from optipfair_desktop.engine.model_access import model_device
from optipfair_desktop.engine.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress

logger = logging.getLogger(__name__)

DEFAULT_PROMPTS = (
    "What is the capital of France?",
    "Write a short poem about the sea.",
    "Explain in two sentences why the sky is blue.",
    "List three uses of a paper clip.",
)


@dataclass(frozen=True)
class GenerationRow:
    """One prompt and each model's continuation, in the order the models were given."""

    prompt: str
    outputs: tuple[str, ...]
    new_tokens: tuple[int, ...]  # tokens each model generated before EOS or the limit


def _prompt_ids(tokenizer, prompt: str, use_chat_template: bool) -> list[int]:
    if use_chat_template and getattr(tokenizer, "chat_template", None):
        ids = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=True
        )
        # transformers 5 returns a BatchEncoding here; older versions a plain list.
        return list(ids["input_ids"]) if hasattr(ids, "keys") else list(ids)
    return tokenizer.encode(prompt)


def greedy_continuation(
    model: nn.Module,
    prompt_ids: list[int],
    max_new_tokens: int,
    stop_token_ids: set[int],
    cancel: CancelToken = NEVER_CANCELLED,
) -> list[int]:
    """Generate greedily until a stop token or ``max_new_tokens``; the stop token is not returned."""
    max_positions = getattr(model.config, "max_position_embeddings", None)
    if max_positions is not None and len(prompt_ids) + max_new_tokens > max_positions:
        raise ValueError(
            f"a prompt of {len(prompt_ids)} tokens plus {max_new_tokens} new tokens exceeds the model's "
            f"max_position_embeddings {max_positions}; shorten the prompt or generate fewer tokens."
        )
    generated: list[int] = []
    device = model_device(model)
    with torch.inference_mode():
        token, cache = prefill(model, torch.tensor([prompt_ids], device=device))
        while True:
            value = int(token)
            if value in stop_token_ids:
                break
            generated.append(value)
            if len(generated) >= max_new_tokens:
                break
            cancel.check()
            token, cache = decode_step(model, token, cache)
    return generated


def _stop_ids(model: nn.Module, tokenizer) -> set[int]:
    ids: set[int] = set()
    for value in (getattr(model.generation_config, "eos_token_id", None), tokenizer.eos_token_id):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, (list, tuple)):
            ids.update(int(item) for item in value)
    return ids


def side_by_side_generations(
    models: list[tuple[nn.Module, object]],
    prompts: list[str],
    *,
    max_new_tokens: int = 48,
    use_chat_template: bool = True,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> list[GenerationRow]:
    """Generate greedily from each ``(model, tokenizer)`` for each prompt.

    A model's chat template is applied when it has one and ``use_chat_template`` is set, so an
    instruct model gets prompts in the format it was trained on.
    """
    prompts = [prompt.strip() for prompt in prompts if prompt.strip()]
    if not prompts:
        raise ValueError("No prompt given; enter at least one prompt, one per line.")
    if not models:
        raise ValueError("No model given to generate with.")
    if max_new_tokens < 1:
        raise ValueError(f"max new tokens must be at least 1, got {max_new_tokens}.")

    rows = []
    steps = len(prompts) * len(models)
    for prompt_index, prompt in enumerate(prompts):
        outputs, counts = [], []
        for model_index, (model, tokenizer) in enumerate(models):
            cancel.check()
            step = prompt_index * len(models) + model_index
            progress(step / steps, f"Prompt {prompt_index + 1}/{len(prompts)}, model {model_index + 1}")
            ids = _prompt_ids(tokenizer, prompt, use_chat_template)
            generated = greedy_continuation(model, ids, max_new_tokens, _stop_ids(model, tokenizer), cancel)
            outputs.append(tokenizer.decode(generated, skip_special_tokens=True).strip())
            counts.append(len(generated))
        rows.append(GenerationRow(prompt, tuple(outputs), tuple(counts)))
    progress(1.0, "Generations done")
    return rows
