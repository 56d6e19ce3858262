"""Block importance criteria, their cache, the choice of blocks to remove, and the demo check."""

from __future__ import annotations

import copy
import json
import math
import threading

import pytest
import torch
from optipfair.pruning.depth import analyze_layer_importance
from tiny_models import ARCHITECTURES, make_tiny_model
from torch import nn

from optipfair_desktop.engine.block_importance import (
    angular_importance,
    cosine_importance,
    perplexity_importance,
    score_blocks,
)
from optipfair_desktop.engine.block_scores import BlockScores, select_least_important
from optipfair_desktop.engine.block_skipping import skip_blocks
from optipfair_desktop.engine.calibration import CalibrationWindows
from optipfair_desktop.engine.model_access import decoder_layers, decoder_model
from optipfair_desktop.engine.progress import CancelToken, Cancelled
from optipfair_desktop.engine.window_perplexity import window_perplexity

BATCH_SIZE = 4


def random_windows(num_windows: int = 10, length: int = 24, seed: int = 1, ragged: bool = True) -> CalibrationWindows:
    """Random token windows; with ``ragged``, two windows end early in right padding."""
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(3, 128, (num_windows, length), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    if ragged:
        attention_mask[num_windows // 3, 15:] = 0
        attention_mask[num_windows - 2, 5:] = 0
        input_ids[attention_mask == 0] = 0
    return CalibrationWindows.from_tensors(input_ids, attention_mask, "random")


def add_padding(windows: CalibrationWindows, extra: int, pad_id: int = 0) -> CalibrationWindows:
    """Append ``extra`` padding positions to every window."""
    pad = torch.full((windows.num_windows, extra), pad_id, dtype=torch.long)
    return CalibrationWindows.from_tensors(
        torch.cat([windows.input_ids, pad], dim=1),
        torch.cat([windows.attention_mask, torch.zeros_like(pad)], dim=1),
        "padded",
    )


def reference_scores(model, windows: CalibrationWindows, batch_size: int = BATCH_SIZE) -> list[float]:
    batches = [{"input_ids": ids, "attention_mask": mask} for ids, mask in windows.batches(batch_size)]
    result = analyze_layer_importance(model, batches, show_progress=False)
    return [float(result[index]) for index in range(len(result))]


def raw_hidden_states(model, windows: CalibrationWindows) -> tuple[torch.Tensor, ...]:
    """Return the embeddings and every block's own output (the final norm is bypassed)."""
    base = decoder_model(model)
    norm = base.norm
    base.norm = nn.Identity()
    try:
        with torch.no_grad():
            output = base(input_ids=windows.input_ids, attention_mask=windows.attention_mask, output_hidden_states=True)
    finally:
        base.norm = norm
    return output.hidden_states


def make_identity_block(model, block_idx: int) -> None:
    """Zero o_proj and down_proj, so that the block adds nothing to its input."""
    block = decoder_layers(model)[block_idx]
    with torch.no_grad():
        block.self_attn.o_proj.weight.zero_()
        block.mlp.down_proj.weight.zero_()


def remove_block_copy(model, block_idx: int):
    """Return a deep copy of ``model`` with one block really deleted and the config updated."""
    pruned = copy.deepcopy(model)
    base = decoder_model(pruned)
    kept = [index for index in range(len(base.layers)) if index != block_idx]
    base.layers = nn.ModuleList([base.layers[index] for index in kept])
    pruned.config.num_hidden_layers = len(kept)
    if getattr(pruned.config, "layer_types", None):
        pruned.config.layer_types = [pruned.config.layer_types[index] for index in kept]
    return pruned


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_cosine_matches_reference(architecture):
    model = make_tiny_model(architecture)
    windows = random_windows()
    scores = cosine_importance(model, windows, batch_size=BATCH_SIZE)
    expected = reference_scores(model, windows)
    assert len(scores.scores) == len(expected)
    for block_idx, (score, reference) in enumerate(zip(scores.scores, expected)):
        assert score == pytest.approx(reference, abs=1e-5), f"block {block_idx}"


def test_last_block_scored_on_its_own_output():
    model = make_tiny_model("llama")
    with torch.no_grad():
        # A unit norm weight keeps directions, which would hide the difference; real models have uneven weights.
        decoder_model(model).norm.weight.uniform_(0.2, 3.0, generator=torch.Generator().manual_seed(3))
    windows = random_windows(ragged=False)
    hidden = raw_hidden_states(model, windows)
    own_output = 1 - torch.nn.functional.cosine_similarity(hidden[-2], hidden[-1], dim=-1).mean().item()
    with torch.no_grad():
        normed = decoder_model(model)(input_ids=windows.input_ids).last_hidden_state
    after_norm = 1 - torch.nn.functional.cosine_similarity(hidden[-2], normed, dim=-1).mean().item()

    score = cosine_importance(model, windows, batch_size=windows.num_windows).scores[-1]
    assert score == pytest.approx(own_output, abs=1e-5)
    assert abs(score - after_norm) > 1e-3


@pytest.mark.parametrize("architecture", ["llama", "gemma3"])
@pytest.mark.parametrize("run_length", [1, 2, 3])
def test_angular_matches_direct_computation(architecture, run_length):
    model = make_tiny_model(architecture)
    windows = random_windows(ragged=False)
    hidden = raw_hidden_states(model, windows)
    num_blocks = len(hidden) - 1
    expected = []
    for start in range(num_blocks - run_length + 1):
        cosine = torch.nn.functional.cosine_similarity(hidden[start], hidden[start + run_length], dim=-1)
        expected.append((torch.arccos(cosine.clamp(-1, 1)) / math.pi).mean().item())

    scores = angular_importance(model, windows, run_length=run_length, batch_size=windows.num_windows)
    assert scores.run_length == run_length
    assert len(scores.scores) == len(expected)
    for start, (score, direct) in enumerate(zip(scores.scores, expected)):
        assert score == pytest.approx(direct, abs=1e-5), f"run starting at block {start}"


@pytest.mark.parametrize("criterion", ["cosine", "angular"])
def test_padding_does_not_change_scores(criterion):
    model = make_tiny_model("qwen2")
    windows = random_windows(ragged=False)
    plain = score_blocks(model, windows, criterion, batch_size=BATCH_SIZE)
    padded = score_blocks(model, add_padding(windows, 9), criterion, batch_size=BATCH_SIZE)
    for block_idx, (a, b) in enumerate(zip(plain.scores, padded.scores)):
        assert b == pytest.approx(a, abs=1e-5), f"block {block_idx}"


def test_padding_does_not_change_perplexity():
    model = make_tiny_model("llama")
    windows = random_windows(num_windows=6)
    plain = window_perplexity(model, windows)
    padded = window_perplexity(model, add_padding(windows, 7, pad_id=5))
    assert padded == pytest.approx(plain, rel=1e-5)


def test_window_perplexity_matches_model_loss():
    model = make_tiny_model("llama")
    windows = random_windows(num_windows=4, ragged=False)
    with torch.no_grad():
        loss = model(input_ids=windows.input_ids, labels=windows.input_ids).loss.item()
    assert window_perplexity(model, windows, batch_size=2) == pytest.approx(math.exp(loss), rel=1e-5)


@pytest.mark.parametrize("architecture", ["llama", "gemma3"])
def test_perplexity_criterion_matches_removal(architecture):
    model = make_tiny_model(architecture)
    windows = random_windows(num_windows=6)
    scores = perplexity_importance(model, windows, batch_size=BATCH_SIZE)
    baseline = window_perplexity(model, windows)
    assert scores.baseline_perplexity == pytest.approx(baseline, rel=1e-6)
    for block_idx in range(len(scores.scores)):
        removed = window_perplexity(remove_block_copy(model, block_idx), windows)
        assert scores.scores[block_idx] == pytest.approx(removed - baseline, rel=1e-4, abs=1e-4), f"block {block_idx}"


def test_skip_blocks_equals_removal():
    model = make_tiny_model("gemma3")
    windows = random_windows(num_windows=4)
    with torch.no_grad():
        full_before = model(input_ids=windows.input_ids, attention_mask=windows.attention_mask, use_cache=False).logits
        removed = remove_block_copy(remove_block_copy(model, 4), 1)
        expected = removed(input_ids=windows.input_ids, attention_mask=windows.attention_mask, use_cache=False).logits
        with skip_blocks(model, [1, 4]):
            skipped = model(input_ids=windows.input_ids, attention_mask=windows.attention_mask, use_cache=False).logits
        full_after = model(input_ids=windows.input_ids, attention_mask=windows.attention_mask, use_cache=False).logits
    torch.testing.assert_close(skipped, expected)
    assert torch.equal(full_after, full_before)
    assert all(not layer._forward_hooks for layer in decoder_layers(model))
    with pytest.raises(ValueError, match="out of range"):
        with skip_blocks(model, [6]):
            pass
    with pytest.raises(ValueError, match="keep at least one"):
        with skip_blocks(model, range(6)):
            pass


def test_skip_blocks_leaves_other_threads_alone():
    model = make_tiny_model("llama")
    windows = random_windows(num_windows=2, ragged=False)
    with torch.no_grad():
        full = model(input_ids=windows.input_ids).logits
    results = {}

    def other_thread():
        with torch.no_grad():
            results["logits"] = model(input_ids=windows.input_ids).logits

    with skip_blocks(model, [2]):
        copy_during_skip = copy.deepcopy(model)
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert torch.equal(results["logits"], full)
    with torch.no_grad():
        # The copy took the hook along, but a closed hook does nothing.
        assert torch.equal(copy_during_skip(input_ids=windows.input_ids).logits, full)


@pytest.mark.parametrize("criterion", ["cosine", "angular", "perplexity"])
def test_identity_block_is_least_important(criterion):
    model = make_tiny_model("llama")
    make_identity_block(model, 2)
    scores = score_blocks(model, random_windows(num_windows=6), criterion, batch_size=BATCH_SIZE)
    assert scores.scores[2] == pytest.approx(0.0, abs=1e-3 if criterion == "angular" else 1e-5)
    if criterion == "perplexity":
        # In a random tiny model, skipping some blocks lowers perplexity, so their negative
        # increase ranks below the identity block's 0; only the 0 itself is checked.
        return
    assert select_least_important(scores, 1, protected=set())[0] == 2
    assert select_least_important(scores, 2, protected={2})[0] != 2


def test_nan_block_scores_are_unknown():
    model = make_tiny_model("llama")
    with torch.no_grad():
        decoder_layers(model)[4].mlp.down_proj.weight.fill_(float("nan"))
    scores = cosine_importance(model, random_windows(), batch_size=BATCH_SIZE)
    assert scores.scores[4] is None
    assert scores.scores[5] is None
    assert all(isinstance(score, float) for score in scores.scores[:4])
    chosen = select_least_important(scores, 4, protected=set())
    assert sorted(chosen) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="only 4 block"):
        select_least_important(scores, 5, protected=set())


def test_select_least_important_rules():
    values = [0.9, 0.1, None, 0.3, 0.2, 0.05]
    assert select_least_important(values, 2, protected={5}) == [1, 4]
    assert select_least_important(values, 3, protected=set()) == [5, 1, 4]
    assert select_least_important(values, 0, protected=set()) == []
    with pytest.raises(ValueError, match="0 or more"):
        select_least_important(values, -1, protected=set())
    runs = BlockScores("angular", [0.5, 0.1, 0.2, 0.4], run_length=3)
    assert select_least_important(runs, 3, protected=set()) == [1, 2, 3]
    assert select_least_important(runs, 3, protected={3}) == [0, 1, 2]
    with pytest.raises(ValueError, match="runs of 3"):
        select_least_important(runs, 2, protected=set())


def test_cache_hit_skips_forward_pass():
    model = make_tiny_model("mistral")
    windows = random_windows()
    first = score_blocks(model, windows, "cosine", model_identity="tiny-mistral")

    def fail(*args, **kwargs):
        raise AssertionError("the model ran although the result was cached")

    handle = decoder_model(model).register_forward_pre_hook(fail)
    try:
        second = score_blocks(model, windows, "cosine", model_identity="tiny-mistral")
        with pytest.raises(AssertionError, match="cached"):
            score_blocks(model, windows, "angular", model_identity="tiny-mistral")
        with pytest.raises(AssertionError, match="cached"):
            score_blocks(model, windows, "cosine", model_identity="another model")
    finally:
        handle.remove()
    assert second == first


@pytest.mark.parametrize("criterion", ["cosine", "angular", "perplexity"])
def test_cancel_raises_cancelled(criterion):
    model = make_tiny_model("llama")
    token = CancelToken()
    calls = []

    def progress(fraction, message):
        calls.append(fraction)
        token.cancel()

    with pytest.raises(Cancelled):
        score_blocks(model, random_windows(), criterion, batch_size=2, progress=progress, cancel=token)
    assert len(calls) == 1
    assert all(not layer._forward_hooks for layer in decoder_layers(model))
    assert len(decoder_layers(model)) == 6


def test_invalid_settings_raise_value_error():
    model = make_tiny_model("llama")
    windows = random_windows()
    with pytest.raises(ValueError, match="criterion"):
        score_blocks(model, windows, "magnitude")
    with pytest.raises(ValueError, match="run length"):
        score_blocks(model, windows, "angular", run_length=7)
    with pytest.raises(ValueError, match="batch size"):
        score_blocks(model, windows, "cosine", batch_size=0)


@pytest.mark.demo
def test_demo_least_important_beats_last_blocks():
    from optipfair_desktop.engine.calibration import load_calibration_split
    from optipfair_desktop.engine.loading import load_model
    from optipfair_desktop.engine.protection import default_protected_blocks
    from optipfair_desktop.engine.sources import open_source

    model, tokenizer = load_model(open_source("demo"))
    calibration, heldout = load_calibration_split(tokenizer, window_length=64, num_windows=8, num_heldout=8)
    num_blocks = len(decoder_layers(model))

    # Angular distance over runs of 3 blocks chose the blocks that cost least perplexity in
    # benchmarks/bench_importance.py; it takes one forward pass like the cosine criterion.
    scores = score_blocks(model, calibration, "angular", run_length=3)
    least_important = select_least_important(scores, 3, default_protected_blocks(num_blocks))
    last_three = list(range(num_blocks - 3, num_blocks))
    with skip_blocks(model, least_important):
        perplexity_least = window_perplexity(model, heldout)
    with skip_blocks(model, last_three):
        perplexity_last = window_perplexity(model, heldout)
    assert perplexity_least < perplexity_last


def test_analyze_command_prints_json(tmp_path, capsys):
    from test_calibration import make_char_tokenizer

    from optipfair_desktop.cli.main import main

    folder = tmp_path / "tiny-qwen3"
    make_tiny_model("qwen3").save_pretrained(folder)
    make_char_tokenizer().save_pretrained(folder)

    code = main(["analyze", str(folder), "--criterion", "angular", "--run-length", "2",
                 "--windows", "4", "--window-length", "32", "--json"])
    assert code == 0
    output = json.loads(capsys.readouterr().out)
    assert output["criterion"] == "angular"
    assert output["run_length"] == 2
    assert [entry["blocks"] for entry in output["scores"]] == [[i, i + 1] for i in range(5)]
    assert all(0.0 < entry["score"] < 1.0 for entry in output["scores"])


def test_analyze_command_rejects_bad_input(tmp_path, capsys):
    from optipfair_desktop.cli.main import main

    assert main(["analyze", str(tmp_path / "absent"), "--windows", "0"]) == 2
    assert "--windows must be at least 1" in capsys.readouterr().err
