"""Side-by-side greedy generations."""

import pytest
import torch

from optipfair_desktop.engine.bench.generations import greedy_continuation, side_by_side_generations
from optipfair_desktop.engine.progress import CancelToken, Cancelled
from test_bench_support import char_tokenizer
from tiny_models import make_tiny_model


def test_rows_have_one_output_per_model():
    tokenizer = char_tokenizer()
    models = [(make_tiny_model("llama"), tokenizer), (make_tiny_model("llama", num_hidden_layers=3), tokenizer)]
    rows = side_by_side_generations(models, ["Hello", "  ", "Why?"], max_new_tokens=6)
    assert [row.prompt for row in rows] == ["Hello", "Why?"]
    for row in rows:
        assert len(row.outputs) == 2
        assert all(count <= 6 for count in row.new_tokens)


def test_matches_greedy_generate():
    model = make_tiny_model("qwen2")
    tokenizer = char_tokenizer()
    model.generation_config.eos_token_id = None
    ids = tokenizer.encode("Some prompt")
    generated = greedy_continuation(model, ids, 7, stop_token_ids=set())
    reference = model.generate(torch.tensor([ids]), max_new_tokens=7, do_sample=False)
    assert generated == reference[0, len(ids):].tolist()


def test_stops_at_eos():
    model = make_tiny_model("llama")
    tokenizer = char_tokenizer()
    ids = tokenizer.encode("Stop here")
    free = greedy_continuation(model, ids, 6, stop_token_ids=set())
    stopped = greedy_continuation(model, ids, 6, stop_token_ids={free[2]})
    assert stopped == free[:free.index(free[2])]


def test_no_prompt_rejected():
    with pytest.raises(ValueError, match="prompt"):
        side_by_side_generations([(make_tiny_model("llama"), char_tokenizer())], ["", " "])


def test_too_long_rejected():
    with pytest.raises(ValueError, match="max_position_embeddings"):
        side_by_side_generations([(make_tiny_model("llama"), char_tokenizer())], ["x" * 250], max_new_tokens=10)


def test_cancel():
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        side_by_side_generations([(make_tiny_model("llama"), char_tokenizer())], ["Hi"], cancel=token)
