"""Ablation preview: greedy generations of a prompt pair with chosen neuron pairs zeroed, before and after.

The neuron pairs are zeroed by a forward pre-hook on each affected ``down_proj`` that sets their
input channels to 0. That gives the same output as zeroing rows of gate_proj and up_proj,
because act(0) * 0 = 0, and the model's weights are never written. The hooks act only on
forward passes of the thread that installed them and are removed before returning.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn
from transformers import StoppingCriteria, StoppingCriteriaList

from optipfair_desktop.engine.bias.pairs import PromptPair
from optipfair_desktop.engine.model_access import decoder_layers, glu_mlp, model_device
from optipfair_desktop.engine.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def zeroed_neurons(model: nn.Module, neurons: dict[int, list[int]]) -> Iterator[None]:
    """Zero the given neuron pairs (per block index of ``model``) while the context is open."""
    layers = decoder_layers(model)
    owner = threading.get_ident()
    handles = []

    def make_hook(indices: torch.Tensor):
        def hook(module, inputs):
            if threading.get_ident() != owner:
                return None
            hidden = inputs[0].clone()
            hidden[..., indices.to(hidden.device)] = 0
            return (hidden, *inputs[1:])

        return hook

    try:
        for block_idx, indices in neurons.items():
            if not 0 <= block_idx < len(layers):
                raise ValueError(f"Block {block_idx} does not exist in a model with {len(layers)} blocks.")
            mlp = glu_mlp(layers[block_idx])
            width = mlp.down_proj.in_features
            bad = [i for i in indices if not 0 <= i < width]
            if bad:
                raise ValueError(f"Neuron pairs {bad[:5]} of block {block_idx} are outside 0-{width - 1}.")
            if indices:
                index_tensor = torch.tensor(sorted(indices), dtype=torch.long)
                handles.append(mlp.down_proj.register_forward_pre_hook(make_hook(index_tensor)))
        yield
    finally:
        for handle in handles:
            handle.remove()


class _StopOnCancel(StoppingCriteria):
    def __init__(self, cancel: CancelToken) -> None:
        self.cancel = cancel

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs) -> torch.BoolTensor:
        return torch.full((input_ids.shape[0],), self.cancel.is_cancelled, dtype=torch.bool, device=input_ids.device)


def greedy_continuation(model: nn.Module, tokenizer, prompt: str, max_new_tokens: int, cancel: CancelToken = NEVER_CANCELLED) -> str:
    """Return the greedy continuation of ``prompt`` (new text only)."""
    inputs = tokenizer(prompt, return_tensors="pt").to(model_device(model))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    with torch.no_grad():
        output = model.generate(
            **inputs,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=pad_id,
            stopping_criteria=StoppingCriteriaList([_StopOnCancel(cancel)]),
        )
    cancel.check()
    new_tokens = output[0, inputs["input_ids"].shape[1]:]
    return tokenizer.decode(new_tokens, skip_special_tokens=True)


@dataclass
class AblationPreview:
    """Greedy continuations of both prompts of a pair, with the full model and with neuron pairs zeroed."""

    pair: PromptPair
    neurons: dict[int, list[int]]
    before_a: str
    before_b: str
    after_a: str
    after_b: str
    max_new_tokens: int

    @property
    def zeroed_count(self) -> int:
        return sum(len(indices) for indices in self.neurons.values())


def ablation_preview(
    model: nn.Module,
    tokenizer,
    pair: PromptPair,
    neurons: dict[int, list[int]],
    *,
    max_new_tokens: int = 40,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> AblationPreview:
    """Generate both prompts greedily before and after zeroing ``neurons``; nothing is saved."""
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens is {max_new_tokens}; generate at least 1 token.")
    if not any(neurons.values()):
        raise ValueError("No neuron pairs to zero; choose blocks and a percentage above 0.")
    texts = {}
    steps = [("before_a", pair.prompt_a, False), ("before_b", pair.prompt_b, False),
             ("after_a", pair.prompt_a, True), ("after_b", pair.prompt_b, True)]
    for step, (name, prompt, ablate) in enumerate(steps):
        cancel.check()
        progress(step / len(steps), f"Generating {'with' if ablate else 'without'} zeroed neuron pairs ({step + 1}/4)")
        context = zeroed_neurons(model, neurons) if ablate else contextlib.nullcontext()
        with context:
            texts[name] = greedy_continuation(model, tokenizer, prompt, max_new_tokens, cancel)
    progress(1.0, "Ablation preview done")
    return AblationPreview(pair=pair, neurons={b: list(i) for b, i in neurons.items()}, max_new_tokens=max_new_tokens, **texts)
