"""Weight bytes read per decode token and the speed-up bound they allow."""

import pytest
import torch

from optipfair_desktop.engine.bench.bound import decode_speedup_bound
from optipfair_desktop.engine.bench.sizes import bytes_read_per_token, count_parameters, weight_bytes
from tiny_models import make_tiny_model

# Tiny Llama: hidden 64, 4 heads and 2 KV heads of head_dim 16, intermediate 256, vocab 128.
ATTENTION = 64 * 64 + 64 * 32 + 64 * 32 + 64 * 64  # q, k, v, o projections
MLP = 3 * 64 * 256  # gate_proj, up_proj, down_proj
NORMS = 2 * 64
BLOCK = ATTENTION + MLP + NORMS
EMBEDDING = 128 * 64


def test_bound_hand_example():
    # A quarter of the bytes removed allows at most 4/3.
    assert decode_speedup_bound(1000, 750) == pytest.approx(4 / 3)
    assert decode_speedup_bound(1000, 1000) == pytest.approx(1.0)


@pytest.mark.parametrize("original,pruned", [(0, 10), (10, 0), (-5, 3)])
def test_bound_rejects_non_positive(original, pruned):
    with pytest.raises(ValueError, match="must be positive"):
        decode_speedup_bound(original, pruned)


def test_untied_llama_counts_one_embedding_row():
    model = make_tiny_model("llama")
    assert not model.config.tie_word_embeddings
    assert count_parameters(model) == 6 * BLOCK + 64 + 2 * EMBEDDING
    # Blocks, final norm, one row of the input embedding, the whole LM head; float32.
    expected = (6 * BLOCK + 64 + 64 + EMBEDDING) * 4
    assert bytes_read_per_token(model) == expected


def test_tied_head_counts_once_in_full():
    model = make_tiny_model("gemma")
    assert model.config.tie_word_embeddings
    assert bytes_read_per_token(model) == weight_bytes(model)
    assert count_parameters(model) == sum(p.numel() for p in model.parameters())


def test_bound_for_three_removed_blocks():
    original = make_tiny_model("llama")
    pruned = make_tiny_model("llama", num_hidden_layers=3)
    bound = decode_speedup_bound(bytes_read_per_token(original), bytes_read_per_token(pruned))
    hand = (6 * BLOCK + 128 + EMBEDDING) / (3 * BLOCK + 128 + EMBEDDING)
    assert bound == pytest.approx(hand)


def test_bytes_follow_dtype():
    model = make_tiny_model("llama")
    half = make_tiny_model("llama").to(torch.bfloat16)
    assert bytes_read_per_token(half) * 2 == bytes_read_per_token(model)
    assert weight_bytes(half) * 2 == weight_bytes(model)
