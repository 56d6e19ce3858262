"""Tiny randomly initialised causal LMs built from configs, one per supported family.

They are real transformers models with the real modules, small enough that a forward pass
takes milliseconds. Sizes are chosen so that width targets and divisors are meaningful:
hidden_size 64, intermediate_size 256 (expansion rate 400%).
"""

from __future__ import annotations

import torch
from transformers import (
    AutoModelForCausalLM,
    Gemma2Config,
    Gemma3TextConfig,
    GemmaConfig,
    LlamaConfig,
    MistralConfig,
    Qwen2Config,
    Qwen3Config,
)

ARCHITECTURES = ("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3")

_COMMON = dict(
    vocab_size=128,
    hidden_size=64,
    intermediate_size=256,
    num_hidden_layers=6,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=16,
    max_position_embeddings=256,
    pad_token_id=0,
    bos_token_id=1,
    eos_token_id=2,
)


def tiny_config(architecture: str, **overrides):
    values = dict(_COMMON)
    values.update(overrides)
    if architecture == "llama":
        return LlamaConfig(**values)
    if architecture == "mistral":
        return MistralConfig(sliding_window=None, **values)
    if architecture == "qwen2":
        return Qwen2Config(**values)
    if architecture == "qwen3":
        return Qwen3Config(**values)
    if architecture == "gemma":
        return GemmaConfig(**values)
    if architecture == "gemma2":
        return Gemma2Config(sliding_window=8, **values)
    if architecture == "gemma3":
        # Two sliding blocks then one full block, like the real model's 5:1 pattern, scaled down.
        layers = values["num_hidden_layers"]
        layer_types = ["full_attention" if (i + 1) % 3 == 0 else "sliding_attention" for i in range(layers)]
        return Gemma3TextConfig(sliding_window=8, layer_types=layer_types, **values)
    raise ValueError(f"unknown tiny architecture {architecture!r}; expected one of {ARCHITECTURES}")


def make_tiny_model(architecture: str = "llama", seed: int = 0, **overrides):
    """Build a tiny model in eval mode with deterministic random weights."""
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(tiny_config(architecture, **overrides))
    # Random init leaves norms at 1 and some projections tiny; spread the weights so that
    # neuron scores differ and ties between neurons are improbable.
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if parameter.dim() == 2:
                parameter.normal_(0.0, 0.08)
    model.eval()
    return model


def make_tiny_tokenizer():
    """A real word-level fast tokenizer whose 128 ids fit the tiny models' vocabulary."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ["<pad>", "<s>", "</s>", "<unk>"] + (
        "the a an of to and in is was he she they it that for on with as his her their at by this "
        "from be have or not are man woman people family doctor nurse black white asian muslim "
        "christian jewish rich poor old young neighbors felt moved into neighborhood city house work "
        "said would could very good bad happy angry police was were there one two three "
        "because but when who what which said told . , ! ?"
    ).split()
    words = list(dict.fromkeys(words))[:128]
    vocab = {word: i for i, word in enumerate(words)}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<pad>", bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )


def save_tiny_model(folder, architecture: str = "llama", seed: int = 0, **overrides):
    """Save a tiny model and tokenizer as a Hugging Face folder; return the model."""
    model = make_tiny_model(architecture, seed, **overrides)
    model.save_pretrained(folder)
    make_tiny_tokenizer().save_pretrained(folder)
    return model
