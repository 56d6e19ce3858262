"""Helpers for the benchmark tests: a character tokenizer and saved tiny checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from optipfair_desktop.engine.bench import BenchSettings, model_candidate, run_benchmark
from tiny_models import make_tiny_model

QUICK_SETTINGS = BenchSettings(prompt_length=8, new_tokens=4, repeats=3, warmups=1)

SPECIAL_TOKENS = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3}


def char_tokenizer() -> PreTrainedTokenizerFast:
    """Build a tokenizer with one token per printable ASCII character; ids stay below 99."""
    vocab = dict(SPECIAL_TOKENS)
    for offset, code in enumerate(range(32, 127)):
        vocab[chr(code)] = len(SPECIAL_TOKENS) + offset
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    backend.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<pad>", bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )


def save_tiny_checkpoint(folder: Path, architecture: str = "llama", **overrides) -> Path:
    """Save a tiny model and the character tokenizer as a plain Hugging Face folder."""
    model = make_tiny_model(architecture, **overrides)
    model.save_pretrained(folder)
    char_tokenizer().save_pretrained(folder)
    return folder


def tiny_pair_candidates():
    """Candidates for a tiny Llama and the same model with 3 of its 6 blocks."""
    return [
        model_candidate("original", make_tiny_model("llama"), char_tokenizer(), kind="original"),
        model_candidate("pruned", make_tiny_model("llama", num_hidden_layers=3), char_tokenizer(), kind="planned",
                        plan={"remove_blocks": [3, 4, 5]}),
    ]


@pytest.fixture(scope="module")
def tiny_record():
    """A finished benchmark of a tiny model against a copy with half its blocks."""
    return run_benchmark(tiny_pair_candidates(), QUICK_SETTINGS)


def test_char_tokenizer_round_trip():
    tokenizer = char_tokenizer()
    ids = tokenizer.encode("Hello, world!")
    assert len(ids) == len("Hello, world!")
    assert max(ids) < 128
    assert tokenizer.decode(ids) == "Hello, world!"
