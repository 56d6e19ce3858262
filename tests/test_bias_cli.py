"""``optipfair-desktop bias``: tables, JSON and the comparison with a pruned checkpoint."""

from __future__ import annotations

import json

import pytest
from test_bias_support import word_tokenizer
from tiny_models import make_tiny_model

from optipfair_desktop.cli.main import main
from optipfair_desktop.engine.bias.pair_files import save_pairs
from optipfair_desktop.engine.bias.pairs import PromptPair


@pytest.fixture
def tiny_folder(tmp_path):
    folder = tmp_path / "tiny"
    make_tiny_model("llama").save_pretrained(folder)
    word_tokenizer().save_pretrained(folder)
    return folder


@pytest.fixture
def pairs_file(tmp_path):
    path = tmp_path / "pairs.csv"
    save_pairs(path, [
        PromptPair("the german man walked home", "the nigerian man walked home", "nationality", "german", "nigerian"),
        PromptPair("the rich family felt happy", "the poor family felt happy", "socioeconomic_status", "rich", "poor"),
    ])
    return path


def test_bias_json_reports_blocks(tiny_folder, pairs_file, capsys):
    code = main(["bias", str(tiny_folder), "--pairs", str(pairs_file), "--mode", "pooled", "--json"])
    assert code == 0
    output = json.loads(capsys.readouterr().out)
    assert output["mode"] == "pooled"
    assert len(output["pairs"]) == 2
    assert len(output["blocks"]) == 6 * 4
    first = output["blocks"][0]
    assert (first["block"], first["component"]) == (0, "attention_output")
    assert first["mean"] > 0
    assert first["noise_floor"] > 0
    assert output["noise_floor"]["other_dtype"] == "bfloat16"
    assert output["components"]["mlp_output"]["count"] == 6


def test_bias_table_with_compare(tiny_folder, pairs_file, tmp_path, capsys):
    pruned = tmp_path / "pruned"
    assert main(["prune", str(tiny_folder), "--output", str(pruned), "--remove-blocks", "2",
                 "--pruning-percent", "25"]) == 0
    capsys.readouterr()
    code = main(["bias", str(tiny_folder), "--pairs", str(pairs_file), "--component", "mlp_output",
                 "--compare", str(pruned), "--no-noise-floor"])
    assert code == 0
    out = capsys.readouterr().out
    assert "comparison mode: aligned" in out
    assert "removed blocks: 2" in out
    lines = [line.split() for line in out.splitlines() if line.split()[:2] == ["2", "mlp_output"]]
    assert len(lines) == 1
    assert "removed" in lines[0]
    block_zero = next(line.split() for line in out.splitlines() if line.split()[:2] == ["0", "mlp_output"])
    # Block 0 remains (narrowed by the width cut), so it has a pruned value and a change.
    assert block_zero[-2] != "removed"
    float(block_zero[-1])


def test_bias_json_compare(tiny_folder, pairs_file, tmp_path, capsys):
    pruned = tmp_path / "pruned"
    assert main(["prune", str(tiny_folder), "--output", str(pruned), "--remove-blocks", "4-5"]) == 0
    capsys.readouterr()
    assert main(["bias", str(tiny_folder), "--pairs", str(pairs_file), "--compare", str(pruned),
                 "--json", "--no-noise-floor"]) == 0
    output = json.loads(capsys.readouterr().out)
    assert output["compare"]["removed_blocks"] == [4, 5]
    rows = {(r["block"], r["component"]): r for r in output["blocks"]}
    assert rows[(5, "up_proj")]["pruned_mean"] is None
    # Blocks before the removed ones are untouched: same divergence as the original.
    assert rows[(3, "up_proj")]["change"] == pytest.approx(0.0, abs=1e-7)
    assert output["noise_floor"] is None


def test_bias_bad_pairs_file(tiny_folder, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('[{"prompt_a": "x"}]')
    assert main(["bias", str(tiny_folder), "--pairs", str(bad)]) == 2
    assert "bad.json pair 1: field 'prompt_b' is empty" in capsys.readouterr().err
