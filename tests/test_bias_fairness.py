"""Per-neuron bias scores, fairness pruning scores, the plan change and the ablation preview."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_bias_support import reference_bias_module, word_tokenizer
from tiny_models import make_tiny_model

from optipfair_desktop.engine.bias.ablation import ablation_preview, zeroed_neurons
from optipfair_desktop.engine.bias.analysis import analyze_pairs
from optipfair_desktop.engine.bias.fairness import (
    component_neuron_bias,
    fairness_scores,
    model_fairness_scores,
    neuron_bias_scores,
    neurons_to_prune,
    plan_with_fairness_cut,
)
from optipfair_desktop.engine.bias.pairs import PromptPair
from optipfair_desktop.engine.plan import PruningPlan, WidthTarget
from optipfair_desktop.engine.pruning import build_pruned_model

PAIRS = [
    PromptPair("the black man walked home at night . the police officer thought he", "the white man walked home at night . the police officer thought he"),
    PromptPair("the german student moved into the house", "the nigerian student moved into the house"),
    PromptPair("the rich family felt happy", "the poor family felt happy"),
]


@pytest.fixture(scope="module")
def tokenizer():
    return word_tokenizer()


@pytest.fixture(scope="module")
def model():
    return make_tiny_model("llama")


@pytest.mark.parametrize("aggregation", ["mean", "max"])
def test_pooled_bias_scores_match_reference(model, tokenizer, aggregation):
    reference = reference_bias_module("activations")
    expected = reference.analyze_neuron_bias(
        model, tokenizer, [(p.prompt_a, p.prompt_b) for p in PAIRS], aggregation=aggregation, show_progress=False
    )
    analysis = analyze_pairs(model, tokenizer, PAIRS, mode="pooled", noise_floor=False)
    for component in ("gate_proj", "up_proj"):
        ours = component_neuron_bias(analysis, component, aggregation)
        for block_idx in range(6):
            np.testing.assert_allclose(ours[block_idx], expected[f"{component}_layer_{block_idx}"].numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("bias_weight", [0.0, 0.35, 0.8, 1.0])
def test_fairness_scores_match_reference(model, tokenizer, bias_weight):
    reference = reference_bias_module("activations")
    analysis = analyze_pairs(model, tokenizer, PAIRS, mode="pooled", noise_floor=False)
    bias_by_key = {
        f"{component}_layer_{block_idx}": torch.from_numpy(scores.astype(np.float32))
        for component in ("gate_proj", "up_proj")
        for block_idx, scores in component_neuron_bias(analysis, component).items()
    }
    expected = reference.compute_fairness_pruning_scores(model, bias_by_key, bias_weight=bias_weight)
    ours = model_fairness_scores(model, analysis, bias_weight=bias_weight, method="ppm")
    assert set(ours.scores) == set(expected)
    for block_idx, scores in ours.scores.items():
        np.testing.assert_allclose(scores, expected[block_idx].numpy(), rtol=1e-6, atol=1e-7)
        assert scores.min() >= 0
        assert scores.max() <= 1
    assert ours.mode == "pooled"
    assert ours.importance_method == "ppm"


def test_fairness_constant_bias_is_importance_only():
    bias = np.full(8, 0.3)
    importance = np.arange(8, dtype=np.float32)
    scores = fairness_scores(bias, importance, 0.5)
    # Constant bias normalizes to zeros, so the least important neuron pair scores highest.
    assert np.argmax(scores) == 0
    np.testing.assert_allclose(scores, 0.5 * (1 - importance / (7 + 1e-8)), rtol=1e-6)


def test_fairness_rejects_bad_weight():
    with pytest.raises(ValueError, match="outside"):
        fairness_scores(np.ones(4), np.ones(4), 1.5)


def test_bias_scores_average_gate_up(model, tokenizer):
    analysis = analyze_pairs(model, tokenizer, PAIRS, mode="aligned", noise_floor=False)
    gate = component_neuron_bias(analysis, "gate_proj", "max")
    up = component_neuron_bias(analysis, "up_proj", "max")
    combined = neuron_bias_scores(analysis, "max")
    np.testing.assert_allclose(combined[3], (gate[3] + up[3]) / 2)
    manual = np.max([p.differences["gate_proj"].neuron_means[3] for p in analysis.pairs], axis=0)
    np.testing.assert_allclose(gate[3], manual)


def test_plan_gets_fairness_cut(model, tokenizer):
    analysis = analyze_pairs(model, tokenizer, PAIRS, noise_floor=False)
    fairness = model_fairness_scores(model, analysis, blocks=[1, 4], bias_weight=0.9)
    plan = PruningPlan(remove_blocks=(5,), width=WidthTarget("percent", 10))
    updated = plan_with_fairness_cut(plan, fairness.scores, 25)
    assert set(updated.neuron_scores) == {1, 4}
    assert len(updated.neuron_scores[1]) == 256
    assert updated.block_overrides == {1: WidthTarget("percent", 25.0), 4: WidthTarget("percent", 25.0)}
    assert updated.width == plan.width
    assert updated.remove_blocks == (5,)
    assert plan.neuron_scores == {}

    result = build_pruned_model(model, updated)
    expected_removed = neurons_to_prune(fairness.scores[4], 25, hidden_size=64)
    kept = result.kept_neurons[4]
    assert len(kept) == 192
    assert sorted(set(range(256)) - set(kept)) == expected_removed

    with pytest.raises(ValueError, match="removed by depth pruning"):
        plan_with_fairness_cut(plan, {5: fairness.scores[1]}, 25)


def test_neurons_to_prune_takes_highest_scores():
    scores = np.array([0.1, 0.9, 0.5, 0.95, 0.0, 0.2, 0.3, 0.4])
    assert neurons_to_prune(scores, 25, hidden_size=4) == [1, 3]
    with pytest.raises(ValueError, match="above 0 and below 100"):
        neurons_to_prune(scores, 100, hidden_size=4)


def test_ablation_preview_leaves_weights_unchanged(model, tokenizer):
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    neurons = {2: list(range(0, 256, 2)), 3: list(range(100))}
    preview = ablation_preview(model, tokenizer, PAIRS[0], neurons, max_new_tokens=6)
    after = model.state_dict()
    assert before.keys() == after.keys()
    for name, tensor in before.items():
        assert torch.equal(tensor, after[name]), name
    assert all(not module._forward_pre_hooks for module in model.modules())
    assert preview.zeroed_count == 228
    assert preview.before_a and preview.after_a


def test_zeroed_neurons_match_zeroed_weights(model, tokenizer):
    ids = torch.tensor([tokenizer(PAIRS[0].prompt_a)["input_ids"]])
    neurons = {1: [3, 17, 200]}
    with torch.no_grad():
        plain = model(input_ids=ids).logits
        with zeroed_neurons(model, neurons):
            hooked = model(input_ids=ids).logits
        copy = make_tiny_model("llama")
        mlp = copy.model.layers[1].mlp
        mlp.gate_proj.weight[[3, 17, 200]] = 0
        mlp.up_proj.weight[[3, 17, 200]] = 0
        zeroed = copy(input_ids=ids).logits
    assert not torch.allclose(plain, hooked)
    torch.testing.assert_close(hooked, zeroed)


def test_ablation_rejects_bad_neurons(model, tokenizer):
    with pytest.raises(ValueError, match="outside 0-255"):
        ablation_preview(model, tokenizer, PAIRS[0], {0: [300]}, max_new_tokens=2)
    with pytest.raises(ValueError, match="No neuron pairs"):
        ablation_preview(model, tokenizer, PAIRS[0], {0: []}, max_new_tokens=2)


def test_fairness_cut_keeps_common_width_target():
    import numpy as np

    from optipfair_desktop.engine.bias.fairness import plan_with_fairness_cut
    from optipfair_desktop.engine.plan import PruningPlan, WidthTarget

    common = PruningPlan(width=WidthTarget("expansion_rate", 200))
    plan = plan_with_fairness_cut(common, {3: np.linspace(0, 1, 256)}, 10, hidden_size=64)
    assert plan.block_overrides == {}
    stricter = plan_with_fairness_cut(common, {3: np.linspace(0, 1, 256)}, 60, hidden_size=64)
    assert stricter.block_overrides == {3: WidthTarget("percent", 60.0)}
    assert plan.width == WidthTarget("expansion_rate", 200)
    assert len(plan.neuron_scores[3]) == 256
    alone = plan_with_fairness_cut(PruningPlan(), {3: np.linspace(0, 1, 256)}, 10)
    assert alone.block_overrides == {3: WidthTarget("percent", 10.0)}
