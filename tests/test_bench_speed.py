"""Timed greedy generation: forced length, cache correctness, synchronisation points."""

import pytest
import torch

from optipfair_desktop.engine.bench import speed
from optipfair_desktop.engine.bench.speed import timed_generation
from optipfair_desktop.engine.progress import CancelToken, Cancelled
from tiny_models import make_tiny_model


def _prompt(length=12):
    return torch.randint(3, 128, (1, length), generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("architecture", ["llama", "gemma3"])
def test_tokens_match_generate(architecture):
    model = make_tiny_model(architecture)
    prompt = _prompt()
    timing, tokens = timed_generation(model, prompt, 10)
    reference = model.generate(prompt, max_new_tokens=10, min_new_tokens=10, do_sample=False)
    assert tokens.tolist() == reference[0, prompt.shape[1]:].tolist()
    assert timing.tokens_generated == 10


def test_early_eos_does_not_shorten_run():
    model = make_tiny_model("llama")
    prompt = _prompt()
    first = int(model(prompt).logits[0, -1].argmax())
    model.config.eos_token_id = first
    model.generation_config.eos_token_id = first
    model.generation_config.pad_token_id = 0

    stopped = model.generate(prompt, max_new_tokens=8, do_sample=False)
    assert stopped.shape[1] - prompt.shape[1] < 8  # generate() would stop at the first token

    timing, tokens = timed_generation(model, prompt, 8)
    assert timing.tokens_generated == 8
    assert tokens.numel() == 8
    assert int(tokens[0]) == first


def test_timing_fields():
    timing, _ = timed_generation(make_tiny_model("qwen2"), _prompt(16), 5)
    assert timing.prompt_length == 16
    assert timing.prefill_s > 0
    assert timing.decode_s > 0
    assert timing.time_to_first_token_s == timing.prefill_s
    assert timing.prefill_tokens_per_s == pytest.approx(16 / timing.prefill_s)
    assert timing.decode_tokens_per_s == pytest.approx(4 / timing.decode_s)


def test_too_few_tokens_rejected():
    with pytest.raises(ValueError, match="at least 2"):
        timed_generation(make_tiny_model("llama"), _prompt(), 1)


def test_synchronize_around_timed_regions(monkeypatch):
    calls = []
    monkeypatch.setattr(speed, "synchronize", lambda device: calls.append(str(device)))
    timed_generation(make_tiny_model("llama"), _prompt(), 4)
    # Before the start, after the prefill, after the last decode step.
    assert calls == ["cpu", "cpu", "cpu"]


def test_cancel_stops_decoding():
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        timed_generation(make_tiny_model("llama"), _prompt(), 4, cancel=token)


def test_kv_cache_bytes_counted():
    timing, _ = timed_generation(make_tiny_model("llama"), _prompt(12), 4)
    # Keys and values of 6 blocks, 2 KV heads of head_dim 16, float32, for the 12 prompt
    # tokens and the 3 generated tokens fed back (the last one is never fed).
    assert timing.kv_cache_bytes == 2 * 6 * 2 * 15 * 16 * 4
