"""The same plan keeps the same neuron pairs and blocks as the reference library OptiPFair 0.4.2."""

import copy

import pytest
import torch

optipfair = pytest.importorskip("optipfair")

from optipfair_desktop.engine.model_access import decoder_layers  # noqa: E402
from optipfair_desktop.engine.plan import PruningPlan, WidthTarget  # noqa: E402
from optipfair_desktop.engine.pruning import build_pruned_model  # noqa: E402
from tiny_models import ARCHITECTURES, make_tiny_model  # noqa: E402

REFERENCE_METHOD = {"ppm": "PPM", "maw": "MAW", "vow": "VOW", "pon": "PON", "l2": "L2"}


def _reference_widths(model, method, percent=None, rate=None, divisor=None):
    reference = optipfair.prune_model(
        copy.deepcopy(model),
        pruning_type="MLP_GLU",
        neuron_selection_method=REFERENCE_METHOD[method],
        pruning_percentage=percent,
        expansion_rate=rate,
        expansion_divisor=divisor,
        show_progress=False,
    )
    return reference


def _assert_same_mlps(ours, reference):
    for block_idx, (a, b) in enumerate(zip(decoder_layers(ours), decoder_layers(reference))):
        for name in ("gate_proj", "up_proj", "down_proj"):
            wa = getattr(a.mlp, name).weight
            wb = getattr(b.mlp, name).weight
            assert wa.shape == wb.shape, f"block {block_idx} {name}: {wa.shape} vs {wb.shape}"
            assert torch.equal(wa, wb), f"block {block_idx} {name} keeps other neuron pairs"


@pytest.mark.parametrize("method", ["ppm", "maw", "vow", "pon", "l2"])
@pytest.mark.parametrize("architecture", ["llama", "qwen3", "gemma2"])
def test_width_percent_matches_reference(architecture, method):
    model = make_tiny_model(architecture, seed=3)
    ours = build_pruned_model(model, PruningPlan(width=WidthTarget("percent", 30), method=method)).model
    reference = _reference_widths(model, method, percent=30)
    _assert_same_mlps(ours, reference)
    assert ours.config.intermediate_size == reference.config.intermediate_size == 180


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_expansion_rate_with_divisor_matches_reference(architecture):
    model = make_tiny_model(architecture, seed=1)
    plan = PruningPlan(width=WidthTarget("expansion_rate", 250), method="ppm", divisor=32)
    ours = build_pruned_model(model, plan).model
    reference = _reference_widths(model, "ppm", rate=250, divisor=32)
    _assert_same_mlps(ours, reference)
    assert ours.config.intermediate_size == 160


def test_depth_matches_reference_blocks():
    model = make_tiny_model("llama", seed=2)
    ours = build_pruned_model(model, PruningPlan(remove_blocks=(1, 4))).model
    reference = optipfair.prune_model(
        copy.deepcopy(model), pruning_type="DEPTH", layer_indices=[1, 4], show_progress=False
    )
    assert ours.config.num_hidden_layers == reference.config.num_hidden_layers == 4
    for a, b in zip(decoder_layers(ours), decoder_layers(reference)):
        assert torch.equal(a.self_attn.q_proj.weight, b.self_attn.q_proj.weight)
    ids = torch.tensor([[5, 9, 17, 33, 65]])
    with torch.no_grad():
        assert torch.equal(ours(ids).logits, reference(ids).logits)


def test_source_model_is_unchanged():
    model = make_tiny_model("llama")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    build_pruned_model(model, PruningPlan(remove_blocks=(0,), width=WidthTarget("percent", 50)))
    after = model.state_dict()
    assert model.config.num_hidden_layers == 6
    assert model.config.intermediate_size == 256
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
