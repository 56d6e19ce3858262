"""Shared helpers for the bias tests: a small real tokenizer and the reference library's bias modules.

No tests live here; pytest collects the module and finds none.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers
from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[BOS]", "[EOS]"]
WORDS = (
    "the a an and of to in at on was is his her their he she they it that this with for "
    "man woman person family student doctor nurse engineer officer police neighbors neighborhood "
    "black white asian niger ##ian german christian muslim rich poor young old "
    "walked moved into home night felt thought said looked answered stopped asked "
    "house car shop street late early quickly calmly angry happy . ,"
).split()
VOCAB = {token: index for index, token in enumerate(SPECIAL_TOKENS + WORDS)}
assert len(VOCAB) <= 128, "the tiny models have a vocabulary of 128"


def word_tokenizer() -> PreTrainedTokenizerFast:
    """Return a WordPiece tokenizer over ``VOCAB``; "nigerian" becomes two tokens, niger + ##ian."""
    backend = Tokenizer(models.WordPiece(vocab=VOCAB, unk_token="[UNK]", max_input_chars_per_word=50))
    backend.normalizer = normalizers.Lowercase()
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece(prefix="##")
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]", bos_token="[BOS]", eos_token="[EOS]"
    )


def reference_bias_module(name: str):
    """Load ``optipfair/bias/<name>.py`` by path.

    The package's ``__init__`` imports matplotlib and scikit-learn for its plots, which this
    project does not install; the metric and activation modules need neither.
    """
    import optipfair

    path = Path(optipfair.__file__).parent / "bias" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_optipfair_reference_bias_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
