"""Full benchmarks of tiny models: fields, order, copies, perplexity, cancellation, CSV."""

import csv

import pytest
import torch

from optipfair_desktop.engine.bench import (
    BenchRecord,
    BenchSettings,
    PerplexityText,
    folder_candidate,
    model_candidate,
    run_benchmark,
)
from optipfair_desktop.engine.bench.export import CSV_COLUMNS, write_csv
from optipfair_desktop.engine.progress import CancelToken, Cancelled
from test_bench_support import QUICK_SETTINGS, char_tokenizer, save_tiny_checkpoint, tiny_pair_candidates
from test_bench_support import tiny_record  # noqa: F401 - fixture
from tiny_models import make_tiny_model


def test_record_has_documented_fields(tiny_record):
    settings = tiny_record.settings
    assert (settings.prompt_length, settings.new_tokens, settings.repeats, settings.warmups) == (8, 4, 3, 1)
    assert settings.batch_size == 1
    assert settings.device == "cpu"
    assert settings.torch_threads >= 1
    assert "IQR" in settings.spread
    assert tiny_record.machine.torch == torch.__version__
    assert tiny_record.machine.logical_cores >= 1

    original, pruned = tiny_record.models
    for model in (original, pruned):
        assert model.tokens_generated == (4, 4, 4)
        assert len(model.decode_tokens_per_s.values) == 3
        assert model.prefill_tokens_per_s.median > 0
        assert model.time_to_first_token_s.median > 0
        assert model.peak_memory_bytes > 0
        assert model.memory_method
        assert model.dtype == "float32"
        assert model.checkpoint_bytes is None
    assert (original.num_blocks, pruned.num_blocks) == (6, 3)
    assert pruned.parameters < original.parameters
    assert pruned.plan == {"remove_blocks": [3, 4, 5]}


def test_run_order_alternates(tiny_record):
    assert tiny_record.run_order == ("original", "pruned") * 3


def test_comparison_against_baseline(tiny_record):
    (comparison,) = tiny_record.comparisons
    original, pruned = tiny_record.models
    assert comparison.label == "pruned"
    assert comparison.baseline == "original"
    ratios = [p / o for p, o in zip(pruned.decode_tokens_per_s.values, original.decode_tokens_per_s.values)]
    assert comparison.decode_speedup.median == pytest.approx(sorted(ratios)[1])
    assert comparison.decode_bound == pytest.approx(original.bytes_per_token / pruned.bytes_per_token)
    assert comparison.note


def test_record_round_trips_through_dict(tiny_record):
    assert BenchRecord.from_dict(tiny_record.to_dict()) == tiny_record


def test_perplexity_and_progress():
    reports = []
    texts = [PerplexityText("fox", "The quick brown fox jumps over the lazy dog. " * 4)]
    record = run_benchmark(tiny_pair_candidates(), QUICK_SETTINGS.replace(perplexity_context_length=64,
                                                                          perplexity_stride=32),
                           perplexity_texts=texts, progress=lambda f, m: reports.append(f))
    for model in record.models:
        (result,) = model.perplexity
        assert result.text_name == "fox"
        assert result.context_length == 64
        assert result.stride == 32
        assert result.perplexity > 1
    assert reports[-1] == 1.0
    assert all(later >= earlier for earlier, later in zip(reports, reports[1:]))


def test_dtype_change_copies_model():
    model = make_tiny_model("llama")
    record = run_benchmark([model_candidate("bf16", model)], QUICK_SETTINGS.replace(dtype="bfloat16", repeats=1))
    assert record.models[0].dtype == "bfloat16"
    assert next(model.parameters()).dtype == torch.float32
    assert record.comparisons == ()


def test_folder_candidate_reports_checkpoint(tmp_path):
    folder = save_tiny_checkpoint(tmp_path / "tiny-pruned", num_hidden_layers=3)
    record = run_benchmark([folder_candidate(folder)], QUICK_SETTINGS.replace(repeats=1))
    (model,) = record.models
    assert model.label == "tiny-pruned"
    assert model.kind == "folder"
    assert model.num_blocks == 3
    assert model.checkpoint_bytes == sum(p.stat().st_size for p in folder.glob("*.safetensors"))


def test_duplicate_labels_made_unique():
    model = make_tiny_model("llama")
    record = run_benchmark([model_candidate("same", model), model_candidate("same", model)],
                           QUICK_SETTINGS.replace(repeats=1, warmups=0))
    assert [m.label for m in record.models] == ["same", "same (2)"]


def test_threads_set_for_run_and_restored():
    before = torch.get_num_threads()
    record = run_benchmark([model_candidate("one", make_tiny_model("llama"))],
                           QUICK_SETTINGS.replace(repeats=1, torch_threads=1))
    assert record.settings.torch_threads == 1
    assert torch.get_num_threads() == before


def test_cancel_raises():
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        run_benchmark(tiny_pair_candidates(), QUICK_SETTINGS, cancel=token)


@pytest.mark.parametrize("changes,message", [
    ({"new_tokens": 1}, "new tokens"),
    ({"repeats": 0}, "repeats"),
    ({"prompt_length": 0}, "prompt length"),
    ({"dtype": "int8"}, "dtype"),
    ({"torch_threads": -1}, "torch threads"),
    ({"device": "cuda"} if not torch.cuda.is_available() else {"device": "tpu"}, "not available|Unknown device"),
    ({"prompt_length": 250, "new_tokens": 10}, "max_position_embeddings"),
])
def test_invalid_settings_rejected(changes, message):
    with pytest.raises(ValueError, match=message):
        run_benchmark(tiny_pair_candidates(), QUICK_SETTINGS.replace(**changes))


def test_no_candidates_rejected():
    with pytest.raises(ValueError, match="No model"):
        run_benchmark([], BenchSettings())


def test_prompt_from_tokenizer_is_used():
    # A tokenizer-less model gets pseudo-random ids; with the character tokenizer the run
    # must still produce the forced number of tokens.
    record = run_benchmark([model_candidate("chars", make_tiny_model("llama"), char_tokenizer())],
                           QUICK_SETTINGS.replace(repeats=1, prompt_length=30))
    assert record.models[0].tokens_generated == (4,)


def test_csv_export(tmp_path, tiny_record):
    path = write_csv([tiny_record, tiny_record], tmp_path / "bench.csv")
    with path.open() as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 4
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert rows[1]["model"] == "pruned"
    assert float(rows[1]["decode_bound"]) == pytest.approx(tiny_record.comparisons[0].decode_bound)
    assert rows[0]["note"] == "baseline"
