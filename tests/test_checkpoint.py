"""Saved checkpoints reload with plain transformers and give identical logits; saves are atomic."""

import json
import os
import stat

import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM

from optipfair_desktop.engine.checkpoint import SaveError, save_checkpoint
from optipfair_desktop.engine.plan import PruningPlan, WidthTarget
from optipfair_desktop.engine.progress import CancelToken, Cancelled
from optipfair_desktop.engine.pruning import build_pruned_model
from tiny_models import ARCHITECTURES, make_tiny_model, make_tiny_tokenizer

IDS = torch.tensor([[1, 5, 9, 17, 33, 65, 99, 120, 7, 3, 11, 13]])


def _save(result, output, source, **kwargs):
    return save_checkpoint(
        result.model, make_tiny_tokenizer(), result.plan, output,
        source_folders=[source], card_facts={"source_name": "tiny"}, **kwargs,
    )


def _logits(model):
    with torch.no_grad():
        return model(IDS).logits


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_depth_and_width_checkpoint_reloads(architecture, tmp_path):
    model = make_tiny_model(architecture)
    plan = PruningPlan(remove_blocks=(1, 4), width=WidthTarget("percent", 25), divisor=32)
    result = build_pruned_model(model, plan)
    saved = _save(result, tmp_path / "out", tmp_path / "src")

    reloaded = AutoModelForCausalLM.from_pretrained(saved.output_dir)
    config = AutoConfig.from_pretrained(saved.output_dir)
    assert config.num_hidden_layers == 4
    assert config.intermediate_size == 192
    assert torch.equal(_logits(reloaded), _logits(result.model))
    assert saved.logits_identical
    assert json.loads((saved.output_dir / "pruning_plan.json").read_text())["remove_blocks"] == [1, 4]
    assert "removed blocks 1, 4" in (saved.output_dir / "README.md").read_text()


def test_gemma3_layer_types_follow_removed_blocks(tmp_path):
    model = make_tiny_model("gemma3")
    original = list(model.config.layer_types)
    result = build_pruned_model(model, PruningPlan(remove_blocks=(0, 2)))
    saved = _save(result, tmp_path / "out", tmp_path / "src")
    config = AutoConfig.from_pretrained(saved.output_dir)
    assert config.layer_types == [original[i] for i in (1, 3, 4, 5)]
    reloaded = AutoModelForCausalLM.from_pretrained(saved.output_dir)
    assert torch.equal(_logits(reloaded), _logits(result.model))
    for new_idx, block in enumerate(reloaded.model.layers):
        assert block.self_attn.layer_idx == new_idx


@pytest.mark.parametrize("architecture", ["llama", "gemma3"])
def test_per_block_widths_are_padded_exactly(architecture, tmp_path):
    model = make_tiny_model(architecture)
    plan = PruningPlan(
        width=WidthTarget("percent", 50),
        block_overrides={2: WidthTarget("percent", 0), 3: WidthTarget("percent", 25)},
    )
    result = build_pruned_model(model, plan)
    assert result.widths == {0: 128, 1: 128, 2: 256, 3: 192, 4: 128, 5: 128}
    assert result.stored_width == 256
    # Zero-padded pairs: the padded model equals the same cut without padding, block by block.
    for block_idx, block in enumerate(result.model.model.layers):
        width = result.widths[block_idx]
        assert torch.count_nonzero(block.mlp.gate_proj.weight[width:]) == 0
        assert torch.count_nonzero(block.mlp.down_proj.weight[:, width:]) == 0
    saved = _save(result, tmp_path / "out", tmp_path / "src")
    reloaded = AutoModelForCausalLM.from_pretrained(saved.output_dir)
    assert reloaded.config.intermediate_size == 256
    assert torch.equal(_logits(reloaded), _logits(result.model))


def test_padding_changes_no_output():
    model = make_tiny_model("llama")
    uniform = build_pruned_model(model, PruningPlan(width=WidthTarget("percent", 50))).model
    padded = build_pruned_model(
        model, PruningPlan(width=WidthTarget("percent", 50), block_overrides={0: WidthTarget("percent", 0)})
    ).model
    # Block 0 keeps all pairs in `padded`; compare a model where only padding differs instead.
    mixed = build_pruned_model(
        model, PruningPlan(width=WidthTarget("percent", 50), block_overrides={0: WidthTarget("percent", 25)})
    )
    assert mixed.stored_width == 192
    assert uniform.config.intermediate_size == 128
    assert padded.config.intermediate_size == 256
    hidden = torch.randn(1, 5, 64)
    with torch.no_grad():
        narrow = uniform.model.layers[1].mlp(hidden)
        wide = mixed.model.model.layers[1].mlp(hidden)
    torch.testing.assert_close(narrow, wide, rtol=0, atol=1e-6)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_cached_and_uncached_generation_agree_after_depth_pruning(architecture):
    model = make_tiny_model(architecture)
    pruned = build_pruned_model(model, PruningPlan(remove_blocks=(0, 3))).model
    prompt = torch.tensor([[1, 5, 9, 17, 33, 65, 99, 120, 7, 3, 11]])
    cached = pruned.generate(prompt, max_new_tokens=12, do_sample=False, use_cache=True, min_new_tokens=12)
    uncached = pruned.generate(prompt, max_new_tokens=12, do_sample=False, use_cache=False, min_new_tokens=12)
    assert cached.shape[1] == prompt.shape[1] + 12
    assert torch.equal(cached, uncached)


def test_save_rejects_source_folder(tmp_path):
    result = build_pruned_model(make_tiny_model("llama"), PruningPlan(remove_blocks=(1,)))
    source = tmp_path / "src"
    source.mkdir()
    with pytest.raises(SaveError, match="inside the source model"):
        _save(result, source, source)
    with pytest.raises(SaveError, match="inside the source model"):
        _save(result, source / "pruned", source)
    with pytest.raises(SaveError, match="contains the source model"):
        _save(result, tmp_path, source)


def test_save_rejects_existing_folder_without_overwrite(tmp_path):
    result = build_pruned_model(make_tiny_model("llama"), PruningPlan(remove_blocks=(1,)))
    output = tmp_path / "out"
    output.mkdir()
    (output / "keep.txt").write_text("user data")
    with pytest.raises(SaveError, match="already exists"):
        _save(result, output, tmp_path / "src")
    with pytest.raises(SaveError, match="not a checkpoint saved by this app"):
        _save(result, output, tmp_path / "src", overwrite=True)
    assert (output / "keep.txt").read_text() == "user data"


def test_overwrite_replaces_earlier_checkpoint(tmp_path):
    first = build_pruned_model(make_tiny_model("llama"), PruningPlan(remove_blocks=(1,)))
    second = build_pruned_model(make_tiny_model("llama"), PruningPlan(remove_blocks=(1, 2)))
    output = tmp_path / "out"
    _save(first, output, tmp_path / "src")
    saved = _save(second, output, tmp_path / "src", overwrite=True)
    assert AutoConfig.from_pretrained(saved.output_dir).num_hidden_layers == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_save_rejects_app_cache(tmp_path):
    from optipfair_desktop.engine.paths import cache_dir

    result = build_pruned_model(make_tiny_model("llama"), PruningPlan(remove_blocks=(1,)))
    with pytest.raises(SaveError, match="app cache"):
        _save(result, cache_dir(), tmp_path / "src", overwrite=True)
    with pytest.raises(SaveError, match="app cache"):
        _save(result, cache_dir() / "converted" / "x", tmp_path / "src")


def test_folder_created_during_save_is_not_replaced(tmp_path):
    result = build_pruned_model(make_tiny_model("llama"), PruningPlan(remove_blocks=(1,)))
    output = tmp_path / "out"

    def other_save_lands(fraction, message):
        if "Comparing" in message and not output.exists():
            output.mkdir()
            (output / "pruning_plan.json").write_text("{}")

    with pytest.raises(SaveError, match="already exists"):
        _save(result, output, tmp_path / "src", progress=other_save_lands)
    assert sorted(p.name for p in output.iterdir()) == ["pruning_plan.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_cancelled_save_leaves_nothing(tmp_path):
    result = build_pruned_model(make_tiny_model("llama"), PruningPlan(remove_blocks=(1,)))
    token = CancelToken()

    def cancel_after_weights(fraction, message):
        if "tokenizer" in message:
            token.cancel()

    with pytest.raises(Cancelled):
        _save(result, tmp_path / "out", tmp_path / "src", progress=cancel_after_weights, cancel=token)
    assert list(tmp_path.iterdir()) == []


def test_failed_save_leaves_nothing(tmp_path):
    result = build_pruned_model(make_tiny_model("llama"), PruningPlan(remove_blocks=(1,)))

    class BrokenTokenizer:
        def save_pretrained(self, folder):
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(result.model, BrokenTokenizer(), result.plan, tmp_path / "out",
                        source_folders=[tmp_path / "src"], card_facts={})
    assert list(tmp_path.iterdir()) == []


def test_saved_files_are_readable_by_others(tmp_path):
    result = build_pruned_model(make_tiny_model("llama"), PruningPlan(remove_blocks=(1,)))
    saved = _save(result, tmp_path / "out", tmp_path / "src")
    umask = os.umask(0)
    os.umask(umask)
    if umask & 0o044:
        pytest.skip("the umask hides files from others anyway")
    assert stat.S_IMODE(saved.output_dir.stat().st_mode) & 0o055 == 0o055
    assert stat.S_IMODE((saved.output_dir / "model.safetensors").stat().st_mode) & 0o044 == 0o044


def test_bfloat16_checkpoint_reloads_identically(tmp_path):
    model = make_tiny_model("qwen3")
    plan = PruningPlan(remove_blocks=(2,), width=WidthTarget("percent", 50), dtype="bfloat16")
    result = build_pruned_model(model, plan)
    assert result.model.dtype == torch.bfloat16
    assert model.dtype == torch.float32
    saved = _save(result, tmp_path / "out", tmp_path / "src")
    reloaded = AutoModelForCausalLM.from_pretrained(saved.output_dir)
    assert reloaded.dtype == torch.bfloat16
    assert torch.equal(_logits(reloaded), _logits(result.model))
    assert saved.bytes_on_disk < sum(p.numel() for p in result.model.parameters()) * 2 + 10_000
