"""Token alignment, activation capture, metrics and noise floor, checked against optipfair 0.4.2."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from test_bias_support import reference_bias_module, word_tokenizer
from tiny_models import make_tiny_model

from optipfair_desktop.engine.bias.alignment import align_tokens, comparison_rows
from optipfair_desktop.engine.bias.analysis import analyze_pairs
from optipfair_desktop.engine.bias.capture import COMPONENTS, capture_activations
from optipfair_desktop.engine.bias.pairs import PromptPair
from optipfair_desktop.engine.bias.pca import project_pair
from optipfair_desktop.engine.progress import CancelToken, Cancelled

EQUAL_PAIRS = [
    PromptPair("the black man walked home at night . the police officer thought he", "the white man walked home at night . the police officer thought he"),
    PromptPair("the christian family moved into the neighborhood . the neighbors felt", "the muslim family moved into the neighborhood . the neighbors felt"),
]
# "nigerian" is two tokens (niger, ##ian), "german" one.
UNEQUAL_PAIR = PromptPair("the german man walked home .", "the nigerian man walked home .")
REFERENCE_TARGETS = ["attention", "mlp_output", "gate_proj", "up_proj"]


@pytest.fixture(scope="module")
def tokenizer():
    return word_tokenizer()


def assert_same_layout(expected, actual, path=""):
    if isinstance(expected, dict):
        assert set(expected) == set(actual), f"{path}: keys differ by {set(expected) ^ set(actual)}"
        for key in expected:
            assert_same_layout(expected[key], actual[key], f"{path}/{key}")
    elif isinstance(expected, float):
        if math.isnan(expected):
            assert math.isnan(actual), f"{path}: expected NaN, got {actual}"
        else:
            assert actual == pytest.approx(expected, rel=1e-5, abs=1e-9), path
    else:
        assert expected == actual, path


@pytest.mark.parametrize("architecture", ["llama", "qwen3", "gemma3"])
def test_metrics_match_reference(tokenizer, architecture):
    activations = reference_bias_module("activations")
    metrics = reference_bias_module("metrics")
    model = make_tiny_model(architecture)
    analysis = analyze_pairs(model, tokenizer, EQUAL_PAIRS, mode="aligned", noise_floor=False)
    for index, pair in enumerate(EQUAL_PAIRS):
        act_a, act_b = activations.get_activation_pairs(
            model, tokenizer, pair.prompt_a, pair.prompt_b, target_layers=REFERENCE_TARGETS
        )
        with warnings.catch_warnings():
            # The reference takes the std of one number per block, which torch warns about.
            warnings.simplefilter("ignore", UserWarning)
            expected = metrics.calculate_bias_metrics(act_a, act_b)
        assert_same_layout(expected, analysis.reference_layout(index))


def test_block_mean_is_mean_over_tokens_and_units(tokenizer):
    model = make_tiny_model("llama")
    pair = EQUAL_PAIRS[0]
    analysis = analyze_pairs(model, tokenizer, [pair], noise_floor=False)
    alignment = align_tokens(tokenizer, pair.prompt_a, pair.prompt_b)
    act_a = capture_activations(model, alignment.ids_a)
    act_b = capture_activations(model, alignment.ids_b)
    difference = np.abs(act_a["mlp_output"][2].astype(np.float64) - act_b["mlp_output"][2])
    result = analysis.pairs[0].differences["mlp_output"]
    assert result.mean[2] == pytest.approx(difference.mean())
    assert result.max[2] == pytest.approx(difference.max())
    assert result.std[2] == pytest.approx(difference.std())
    assert result.l1[2] == pytest.approx(difference.sum())
    assert result.l2[2] == pytest.approx(np.linalg.norm(difference))
    np.testing.assert_allclose(result.row_means[2], difference.mean(axis=1))


def test_unequal_lengths_align_prefix_span_suffix(tokenizer):
    alignment = align_tokens(tokenizer, UNEQUAL_PAIR.prompt_a, UNEQUAL_PAIR.prompt_b)
    assert alignment.tokens_a == ["the", "german", "man", "walked", "home", "."]
    assert alignment.tokens_b == ["the", "niger", "##ian", "man", "walked", "home", "."]
    compared = [(p.a, p.b, p.differs) for p in alignment.positions]
    assert compared == [
        ((0,), (0,), False),
        ((1,), (1, 2), True),
        ((2,), (3,), False),
        ((3,), (4,), False),
        ((4,), (5,), False),
        ((5,), (6,), False),
    ]
    assert alignment.diff_mask_a.tolist() == [False, True, False, False, False, False]
    assert alignment.diff_mask_b.tolist() == [False, True, True, False, False, False, False]
    assert alignment.unmatched_a == []
    assert alignment.unmatched_b == []


def test_unequal_lengths_compare_aligned_rows(tokenizer):
    model = make_tiny_model("llama")
    alignment = align_tokens(tokenizer, UNEQUAL_PAIR.prompt_a, UNEQUAL_PAIR.prompt_b)
    act_a = capture_activations(model, alignment.ids_a)
    act_b = capture_activations(model, alignment.ids_b)
    block_a, block_b = act_a["up_proj"][4], act_b["up_proj"][4]

    rows_a, rows_b = comparison_rows(block_a, block_b, alignment, "aligned")
    np.testing.assert_array_equal(rows_a, block_a)
    np.testing.assert_allclose(rows_b[1], (block_b[1] + block_b[2]) / 2, rtol=1e-6)
    np.testing.assert_array_equal(rows_b[2:], block_b[3:])
    np.testing.assert_array_equal(rows_b[0], block_b[0])

    analysis = analyze_pairs(model, tokenizer, [UNEQUAL_PAIR], mode="aligned", noise_floor=False)
    result = analysis.pairs[0]
    assert result.mode == "aligned"
    assert result.row_labels == ["the", "german | niger##ian", "man", "walked", "home", "."]
    assert result.differences["up_proj"].row_means.shape == (6, 6)
    expected = np.abs(rows_a.astype(np.float64) - rows_b).mean()
    assert result.differences["up_proj"].mean[4] == pytest.approx(expected)
    # Shared tokens before the attribute see the same prefix, so they do not differ at all.
    assert result.differences["up_proj"].row_means[:, 0] == pytest.approx(np.zeros(6), abs=1e-7)
    assert np.all(result.differences["up_proj"].row_means[:, 1] > 0)


def test_inserted_token_is_reported_unmatched(tokenizer):
    alignment = align_tokens(tokenizer, "the man walked home", "the old man walked home")
    assert alignment.unmatched_a == []
    assert alignment.unmatched_b == [1]
    assert [(p.a, p.b) for p in alignment.positions] == [((0,), (0,)), ((1,), (2,)), ((2,), (3,)), ((3,), (4,))]
    assert alignment.diff_mask_b.tolist() == [False, True, False, False, False]


@pytest.mark.parametrize("mode", ["aligned", "pooled", "last_token"])
def test_identical_prompts_give_zero(tokenizer, mode):
    model = make_tiny_model("qwen2")
    prompt = EQUAL_PAIRS[0].prompt_a
    analysis = analyze_pairs(model, tokenizer, [PromptPair(prompt, prompt)], mode=mode, noise_floor=False)
    assert analysis.mode == mode
    for component in COMPONENTS:
        for stat in ("mean", "max", "std", "l1", "l2"):
            assert np.all(analysis.block_stat(component, stat) == 0.0), (component, stat)


def test_pooled_and_last_token_rows(tokenizer):
    model = make_tiny_model("llama")
    alignment = align_tokens(tokenizer, UNEQUAL_PAIR.prompt_a, UNEQUAL_PAIR.prompt_b)
    act_a = capture_activations(model, alignment.ids_a)
    act_b = capture_activations(model, alignment.ids_b)
    block_a, block_b = act_a["gate_proj"][1], act_b["gate_proj"][1]

    pooled = analyze_pairs(model, tokenizer, [UNEQUAL_PAIR], mode="pooled", noise_floor=False)
    expected = np.abs(block_a.mean(axis=0).astype(np.float64) - block_b.mean(axis=0))
    assert pooled.pairs[0].row_labels == ["mean of all tokens"]
    np.testing.assert_allclose(pooled.pairs[0].differences["gate_proj"].neuron_means[1], expected, rtol=1e-5)

    last = analyze_pairs(model, tokenizer, [UNEQUAL_PAIR], mode="last_token", noise_floor=False)
    expected = np.abs(block_a[-1].astype(np.float64) - block_b[-1]).mean()
    assert last.pairs[0].differences["gate_proj"].mean[1] == pytest.approx(expected)


def test_noise_floor_reported(tokenizer):
    model = make_tiny_model("llama")
    analysis = analyze_pairs(model, tokenizer, EQUAL_PAIRS, noise_floor=True)
    floor = analysis.noise_floor
    assert floor.model_dtype == "float32"
    assert floor.other_dtype == "bfloat16"
    assert floor.prompt_count == len(EQUAL_PAIRS)
    for component in COMPONENTS:
        assert floor.repeat[component].shape == (6,)
        assert np.all(floor.repeat[component] >= 0)
        assert np.all(floor.precision[component] > 0)
        np.testing.assert_array_equal(analysis.noise_level(component), np.maximum(floor.repeat[component], floor.precision[component]))
        # Rounding to bfloat16 moves activations far less than changing the attribute.
        assert np.all(floor.precision[component] < analysis.block_stat(component, "mean"))


def test_noise_floor_half_precision_model(tokenizer):
    model = make_tiny_model("llama").to(torch.bfloat16)
    analysis = analyze_pairs(model, tokenizer, EQUAL_PAIRS[:1], noise_floor=True)
    assert analysis.noise_floor.model_dtype == "bfloat16"
    assert analysis.noise_floor.other_dtype == "float32"
    assert next(model.parameters()).dtype == torch.bfloat16


def test_block_indices_map_pruned_blocks(tokenizer):
    model = make_tiny_model("llama", num_hidden_layers=4)
    analysis = analyze_pairs(model, tokenizer, EQUAL_PAIRS[:1], block_indices=[0, 2, 3, 5], noise_floor=False)
    assert analysis.block_indices == [0, 2, 3, 5]
    assert "mlp_output_layer_5" in analysis.reference_layout(0)["layer_metrics"]
    with pytest.raises(ValueError, match="lists 3 blocks but the model has 4"):
        analyze_pairs(model, tokenizer, EQUAL_PAIRS[:1], block_indices=[0, 1, 2], noise_floor=False)


def test_progress_and_cancel(tokenizer):
    model = make_tiny_model("llama")
    reports = []
    analyze_pairs(model, tokenizer, EQUAL_PAIRS, progress=lambda f, m: reports.append(f))
    assert reports[-1] == 1.0
    assert reports == sorted(reports)

    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        analyze_pairs(model, tokenizer, EQUAL_PAIRS, cancel=token)


def test_rejects_bad_arguments(tokenizer):
    model = make_tiny_model("llama")
    with pytest.raises(ValueError, match="Unknown comparison mode"):
        analyze_pairs(model, tokenizer, EQUAL_PAIRS, mode="centroid")
    with pytest.raises(ValueError, match="Unknown component"):
        analyze_pairs(model, tokenizer, EQUAL_PAIRS, components=["residual"])
    with pytest.raises(ValueError, match="No prompt pairs"):
        analyze_pairs(model, tokenizer, [])


def test_capture_leaves_no_hooks(tokenizer):
    model = make_tiny_model("llama")
    analyze_pairs(model, tokenizer, EQUAL_PAIRS[:1], noise_floor=True)
    assert all(not module._forward_hooks and not module._forward_pre_hooks for module in model.modules())


def test_pca_arrows_follow_alignment(tokenizer):
    model = make_tiny_model("llama")
    analysis = analyze_pairs(model, tokenizer, [UNEQUAL_PAIR], keep_activations=True, noise_floor=False)
    result = analysis.pairs[0]
    block_a = result.activations_a["mlp_output"][3]
    block_b = result.activations_b["mlp_output"][3]
    view = project_pair(block_a, block_b, result.alignment, "aligned")
    assert view.points_a.shape == (6, 2)
    assert view.points_b.shape == (7, 2)
    assert view.arrow_starts.shape == (6, 2)
    # Projection is linear, so the pooled span's arrow ends at the mean of its two token points.
    np.testing.assert_allclose(view.arrow_ends[1], view.points_b[1:3].mean(axis=0), atol=1e-9)
    np.testing.assert_allclose(view.arrow_starts, view.points_a, atol=1e-9)
    assert 0 < view.explained_variance_ratio[1] <= view.explained_variance_ratio[0] <= 1
    pooled = project_pair(block_a, block_b, result.alignment, "pooled")
    assert pooled.arrow_starts.shape == (1, 2)
    assert pooled.mode == "pooled"
