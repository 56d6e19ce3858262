"""Before vs after: pruned models, in memory and saved, mapped onto the original block numbering."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_bias_support import word_tokenizer
from tiny_models import make_tiny_model

from optipfair_desktop.engine.bias.analysis import analyze_pairs
from optipfair_desktop.engine.bias.compare import (
    compare_with_checkpoint,
    compare_with_pruned,
    remaining_blocks_of_checkpoint,
)
from optipfair_desktop.engine.bias.pairs import PromptPair
from optipfair_desktop.engine.checkpoint import save_checkpoint
from optipfair_desktop.engine.plan import PruningPlan, WidthTarget
from optipfair_desktop.engine.pruning import build_pruned_model

PAIRS = [
    PromptPair("the black man walked home at night", "the white man walked home at night"),
    PromptPair("the german doctor said", "the nigerian doctor said"),
]


@pytest.fixture(scope="module")
def tokenizer():
    return word_tokenizer()


@pytest.fixture(scope="module")
def model():
    return make_tiny_model("llama")


@pytest.fixture(scope="module")
def original(model, tokenizer):
    return analyze_pairs(model, tokenizer, PAIRS, noise_floor=True)


def test_unpruned_copy_changes_nothing(model, tokenizer, original):
    result = build_pruned_model(model, PruningPlan())
    comparison = compare_with_pruned(original, result.model, tokenizer, result.remaining_blocks, label="copy")
    for component in original.components:
        before, after, difference = comparison.curves(component)
        np.testing.assert_allclose(after, before, rtol=1e-6)
        assert np.all(np.abs(difference) < 1e-6)
        assert comparison.worse_blocks(component) == []
    assert comparison.removed_blocks == []


def test_depth_pruning_maps_blocks(model, tokenizer, original):
    result = build_pruned_model(model, PruningPlan(remove_blocks=(2, 4)))
    assert result.remaining_blocks == [0, 1, 3, 5]
    comparison = compare_with_pruned(original, result.model, tokenizer, result.remaining_blocks, label="planned model")
    assert comparison.pruned.block_indices == [0, 1, 3, 5]
    assert comparison.removed_blocks == [2, 4]
    before, after, difference = comparison.curves("mlp_output")
    # Blocks before the first removed one see unchanged inputs, so they diverge exactly as before.
    np.testing.assert_allclose(after[:2], before[:2], rtol=1e-6)
    assert np.isnan(after[2])
    assert np.isnan(after[4])
    assert np.isnan(difference[4])
    assert not np.isclose(after[3], before[3])
    np.testing.assert_allclose(difference[[3, 5]], after[[3, 5]] - before[[3, 5]])
    assert comparison.pruned.mode == original.mode


def test_checkpoint_matches_planned_model(model, tokenizer, original, tmp_path):
    plan = PruningPlan(remove_blocks=(1,), width=WidthTarget("percent", 25))
    result = build_pruned_model(model, plan)
    in_memory = compare_with_pruned(original, result.model, tokenizer, result.remaining_blocks, label="planned model")
    folder = tmp_path / "pruned"
    save_checkpoint(result.model, tokenizer, plan, folder, source_folders=[tmp_path / "src"], card_facts={})

    saved = compare_with_checkpoint(original, folder, tokenizer)
    assert saved.pruned.block_indices == [0, 2, 3, 4, 5]
    assert saved.label == str(folder)
    for component in original.components:
        np.testing.assert_allclose(saved.curves(component)[1], in_memory.curves(component)[1], rtol=1e-5, equal_nan=True)


def test_remaining_blocks_need_plan_file(tmp_path):
    assert remaining_blocks_of_checkpoint(tmp_path, 6, 6) == list(range(6))
    with pytest.raises(ValueError, match="no pruning_plan.json"):
        remaining_blocks_of_checkpoint(tmp_path, 4, 6)
    (tmp_path / "pruning_plan.json").write_text(json.dumps({"remove_blocks": [0, 3]}))
    assert remaining_blocks_of_checkpoint(tmp_path, 4, 6) == [1, 2, 4, 5]
    with pytest.raises(ValueError, match="pruned from another model"):
        remaining_blocks_of_checkpoint(tmp_path, 5, 6)
    (tmp_path / "pruning_plan.json").write_text("{broken")
    with pytest.raises(ValueError, match="not a readable pruning plan"):
        remaining_blocks_of_checkpoint(tmp_path, 4, 6)


def test_checkpoint_folder_without_config(tmp_path, original, tokenizer):
    with pytest.raises(ValueError, match="no config.json"):
        compare_with_checkpoint(original, tmp_path, tokenizer)
