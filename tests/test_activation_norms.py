"""Activation norms of the MLP neuron pairs, checked against the reference library."""

from __future__ import annotations

import pytest
import torch
from optipfair.pruning.mlp_glu import (
    get_activation_norms,
    run_calibration_forward_passes,
    setup_mlp_hooks_for_importance,
)
from tiny_models import make_tiny_model

from optipfair_desktop.engine.activation_norms import cached_activation_norms, collect_activation_norms
from optipfair_desktop.engine.calibration import CalibrationWindows
from optipfair_desktop.engine.model_access import decoder_layers, decoder_model
from optipfair_desktop.engine.neuron_importance import neuron_pair_scores
from optipfair_desktop.engine.progress import CancelToken, Cancelled

BATCH_SIZE = 4


def unpadded_windows(num_windows: int = 10, length: int = 24, seed: int = 2) -> CalibrationWindows:
    generator = torch.Generator().manual_seed(seed)
    return CalibrationWindows.from_tensors(torch.randint(3, 128, (num_windows, length), generator=generator))


def reference_norms(model, windows: CalibrationWindows) -> dict[int, torch.Tensor]:
    handles = setup_mlp_hooks_for_importance(model, torch.device("cpu"))
    try:
        batches = [{"input_ids": ids, "attention_mask": mask} for ids, mask in windows.batches(BATCH_SIZE)]
        run_calibration_forward_passes(model, batches, torch.device("cpu"), show_progress=False)
    finally:
        for handle in handles:
            handle.remove()
    return get_activation_norms()


@pytest.mark.parametrize("architecture", ["llama", "qwen2", "gemma2", "gemma3"])
def test_norms_match_reference(architecture):
    model = make_tiny_model(architecture)
    windows = unpadded_windows()
    norms = collect_activation_norms(model, windows, batch_size=BATCH_SIZE)
    expected = reference_norms(model, windows)
    assert sorted(norms) == sorted(expected)
    for block_idx, tensor in norms.items():
        assert tensor.shape == (256,)
        assert tensor.dtype == torch.float32
        torch.testing.assert_close(tensor, expected[block_idx], rtol=1e-5, atol=1e-5)


def test_padding_is_left_out():
    model = make_tiny_model("llama")
    windows = unpadded_windows()
    pad = torch.full((windows.num_windows, 6), 7, dtype=torch.long)
    padded = CalibrationWindows.from_tensors(
        torch.cat([windows.input_ids, pad], dim=1),
        torch.cat([windows.attention_mask, torch.zeros_like(pad)], dim=1),
    )
    plain = collect_activation_norms(model, windows, batch_size=BATCH_SIZE)
    with_padding = collect_activation_norms(model, padded, batch_size=BATCH_SIZE)
    for block_idx in plain:
        torch.testing.assert_close(with_padding[block_idx], plain[block_idx], rtol=1e-5, atol=1e-5)


def test_norms_feed_hybrid_criterion():
    model = make_tiny_model("qwen3")
    norms = collect_activation_norms(model, unpadded_windows(), batch_size=BATCH_SIZE)
    mlp = decoder_layers(model)[1].mlp
    scores = neuron_pair_scores(mlp, "hybrid", activation_norms=norms[1])
    assert scores.shape == (256,)
    assert bool(torch.isfinite(scores).all())


def test_norms_cache_hit_skips_forward_pass():
    model = make_tiny_model("llama")
    windows = unpadded_windows()
    first = collect_activation_norms(model, windows, batch_size=BATCH_SIZE, model_identity="tiny-llama")

    def fail(*args, **kwargs):
        raise AssertionError("the model ran although the norms were cached")

    handle = decoder_model(model).register_forward_pre_hook(fail)
    try:
        second = collect_activation_norms(model, windows, batch_size=BATCH_SIZE, model_identity="tiny-llama")
    finally:
        handle.remove()
    assert sorted(second) == sorted(first)
    for block_idx in first:
        assert torch.equal(second[block_idx], first[block_idx])
    lookup = cached_activation_norms("tiny-llama", windows, batch_size=BATCH_SIZE, dtype=torch.float32)
    assert lookup is not None
    assert cached_activation_norms("tiny-llama", windows, batch_size=2) is None


def test_norms_cancel_raises_cancelled():
    model = make_tiny_model("llama")
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        collect_activation_norms(model, unpadded_windows(), cancel=token)
    assert all(not layer.mlp.down_proj._forward_pre_hooks for layer in decoder_layers(model))
