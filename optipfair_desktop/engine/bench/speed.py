"""One timed greedy generation: prefill, then decode steps with a KV cache, EOS ignored.

Shapes: ``prompt_ids`` is [1, prompt_length]; each decode step feeds [1, 1].
"""

from __future__ import annotations

import gc
import time
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from optipfair_desktop.engine.bench.devices import synchronize
from optipfair_desktop.engine.progress import NEVER_CANCELLED, CancelToken


@dataclass(frozen=True)
class RunTiming:
    """Times of one run. The first token comes out of the prefill, the rest out of decode steps."""

    prompt_length: int
    tokens_generated: int
    prefill_s: float  # prompt forward pass and the first token's argmax: the time to first token
    decode_s: float  # the remaining tokens_generated - 1 decode steps
    kv_cache_bytes: int = 0  # bytes of the key and value tensors in the cache at the end

    @property
    def time_to_first_token_s(self) -> float:
        return self.prefill_s

    @property
    def prefill_tokens_per_s(self) -> float:
        return self.prompt_length / self.prefill_s

    @property
    def decode_tokens_per_s(self) -> float:
        return (self.tokens_generated - 1) / self.decode_s


def cache_bytes(cache) -> int:
    """Sum the bytes of the key and value tensors of a transformers cache (0 if unknown)."""
    total = 0
    for layer in getattr(cache, "layers", ()):
        for name in ("keys", "values"):
            tensor = getattr(layer, name, None)
            if isinstance(tensor, torch.Tensor):
                total += tensor.numel() * tensor.element_size()
    return total


def prefill(model: nn.Module, input_ids: torch.Tensor):
    """Run the prompt through the model; return the greedy next token [1, 1] and the KV cache."""
    output = model(input_ids=input_ids, use_cache=True, logits_to_keep=1)
    return output.logits[:, -1].argmax(dim=-1, keepdim=True), output.cache


def decode_step(model: nn.Module, token: torch.Tensor, cache):
    """Feed one token [1, 1]; return the greedy next token and the grown cache."""
    output = model(input_ids=token, cache=cache, use_cache=True)
    return output.logits[:, -1].argmax(dim=-1, keepdim=True), output.cache


@contextmanager
def _garbage_collection_paused():
    """Pause automatic garbage collection, as ``timeit`` does, so a collection cannot land
    inside a timed region. The switch is process-wide, so it is kept short."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def timed_generation(
    model: nn.Module,
    prompt_ids: torch.Tensor,
    new_tokens: int,
    *,
    cancel: CancelToken = NEVER_CANCELLED,
) -> tuple[RunTiming, torch.Tensor]:
    """Generate exactly ``new_tokens`` greedy tokens and time the prefill and the decode apart.

    End-of-sequence tokens do not stop the loop, so every run does the same work. Returns the
    timing and the generated ids [tokens_generated]. Waits for the device before each clock
    reading, which matters on CUDA and MPS where kernels run asynchronously. Automatic garbage
    collection is paused during the run.
    """
    if new_tokens < 2:
        raise ValueError(f"new tokens must be at least 2 to time decode steps, got {new_tokens}.")
    device = prompt_ids.device
    generated: list[torch.Tensor] = []

    with torch.inference_mode(), _garbage_collection_paused():
        synchronize(device)
        start = time.perf_counter()
        token, cache = prefill(model, prompt_ids)
        generated.append(token)
        synchronize(device)
        first_token_at = time.perf_counter()

        for _ in range(new_tokens - 1):
            cancel.check()
            token, cache = decode_step(model, token, cache)
            generated.append(token)
        synchronize(device)
        end = time.perf_counter()

    tokens = torch.cat(generated, dim=1)[0].cpu()
    timing = RunTiming(
        prompt_length=int(prompt_ids.shape[1]),
        tokens_generated=int(tokens.numel()),
        prefill_s=first_token_at - start,
        decode_s=end - first_token_at,
        kv_cache_bytes=cache_bytes(cache),
    )
    return timing, tokens
