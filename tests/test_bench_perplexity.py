"""Sliding-window perplexity against direct computations."""

import math

import pytest
import torch
import torch.nn.functional as F

from optipfair_desktop.engine.bench.perplexity import sliding_window_perplexity, text_perplexity
from test_bench_support import char_tokenizer
from tiny_models import make_tiny_model


def _ids(length, seed=0):
    return torch.randint(3, 128, (length,), generator=torch.Generator().manual_seed(seed))


def test_single_window_equals_direct_nll():
    model = make_tiny_model("llama")
    ids = _ids(40)
    with torch.no_grad():
        logits = model(ids.unsqueeze(0)).logits[0]
    direct_nll = F.cross_entropy(logits[:-1], ids[1:]).item()

    result = sliding_window_perplexity(model, ids, context_length=64, stride=32)
    assert result.windows == 1
    assert result.tokens_scored == 39
    assert result.perplexity == pytest.approx(math.exp(direct_nll), rel=1e-5)


def _reference_hf_guide(model, ids, context_length, stride):
    """The perplexity guide's loop: label masking with -100 and the model's own mean loss.

    The loss averages over the labels left after the model's shift by one, so each window's
    weight is the number of unmasked labels from position 1 on.
    """
    total_nll, total_tokens, previous_end = 0.0, 0, 0
    for begin in range(0, ids.numel(), stride):
        end = min(begin + context_length, ids.numel())
        target_length = end - previous_end
        window = ids[begin:end].unsqueeze(0)
        labels = window.clone()
        labels[:, :-target_length] = -100
        with torch.no_grad():
            loss = model(window, labels=labels).loss
        valid = int((labels[:, 1:] != -100).sum())
        total_nll += loss.item() * valid
        total_tokens += valid
        previous_end = end
        if end == ids.numel():
            break
    return math.exp(total_nll / total_tokens), total_tokens


@pytest.mark.parametrize("context_length,stride", [(32, 16), (32, 32), (24, 7)])
def test_sliding_windows_match_guide(context_length, stride):
    model = make_tiny_model("qwen3")
    ids = _ids(100, seed=3)
    expected, expected_tokens = _reference_hf_guide(model, ids, context_length, stride)

    result = sliding_window_perplexity(model, ids, context_length=context_length, stride=stride)
    if stride < context_length:
        assert result.tokens_scored == 99  # every token after the first, once
    else:
        # Windows do not overlap, so each window's first token has no context and is not scored.
        assert result.tokens_scored == 100 - result.windows
    assert result.tokens_scored == expected_tokens
    assert result.perplexity == pytest.approx(expected, rel=1e-5)


def test_result_records_settings():
    result = sliding_window_perplexity(make_tiny_model("llama"), _ids(50), context_length=32, stride=16,
                                       text_name="sample")
    assert result.text_name == "sample"
    assert result.context_length == 32
    assert result.stride == 16
    assert result.text_tokens == 50
    assert result.dtype == "float32"
    assert result.device == "cpu"
    assert result.windows == 3  # windows start at 0, 16, 32; the one at 32 reaches the end


@pytest.mark.parametrize("context_length,stride,message", [
    (1, 1, "context length"),
    (32, 0, "stride"),
    (32, 33, "stride"),
    (512, 256, "max_position_embeddings"),
])
def test_invalid_window_rejected(context_length, stride, message):
    with pytest.raises(ValueError, match=message):
        sliding_window_perplexity(make_tiny_model("llama"), _ids(50), context_length=context_length, stride=stride)


def test_text_perplexity_uses_tokenizer():
    model = make_tiny_model("llama")
    tokenizer = char_tokenizer()
    text = "The quick brown fox jumps over the lazy dog. " * 3
    result = text_perplexity(model, tokenizer, text, text_name="fox", context_length=64, stride=32, max_tokens=80)
    direct = sliding_window_perplexity(model, tokenizer.encode(text)[:80], context_length=64, stride=32)
    assert result.text_tokens == 80
    assert result.perplexity == pytest.approx(direct.perplexity)


def test_prefix_tokenization_matches_whole_text():
    tokenizer = char_tokenizer()
    text = "Rivers and bridges. " * 200
    model = make_tiny_model("llama")
    result = text_perplexity(model, tokenizer, text, text_name="long", context_length=64, stride=32, max_tokens=100)
    direct = sliding_window_perplexity(model, tokenizer.encode(text)[:100], context_length=64, stride=32)
    assert result.text_tokens == 100
    assert result.perplexity == pytest.approx(direct.perplexity)


def test_short_text_uses_all_tokens():
    result = text_perplexity(make_tiny_model("llama"), char_tokenizer(), "Short text here.", text_name="short",
                             context_length=32, stride=16, max_tokens=1000)
    assert result.text_tokens == len("Short text here.")
