"""``optipfair-desktop bench`` on saved tiny checkpoints."""

import json

import pytest
import torch

from optipfair_desktop.cli.main import main
from optipfair_desktop.engine.bench import BenchHistory
from test_bench_support import save_tiny_checkpoint

QUICK = ["--tokens", "4", "--prompt-length", "8", "--repeats", "2", "--warmups", "0"]


def test_json_comparison(tmp_path, capsys):
    original = save_tiny_checkpoint(tmp_path / "original")
    pruned = save_tiny_checkpoint(tmp_path / "pruned", num_hidden_layers=3)
    code = main(["bench", str(original), "--compare", str(pruned), *QUICK, "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert [model["label"] for model in data["models"]] == ["original", "pruned"]
    assert data["models"][1]["tokens_generated"] == [4, 4]
    assert data["settings"]["new_tokens"] == 4
    assert data["comparisons"][0]["baseline"] == "original"
    assert len(BenchHistory().load()) == 1


def test_text_report(tmp_path, capsys):
    original = save_tiny_checkpoint(tmp_path / "original")
    code = main(["bench", str(original), *QUICK, "--perplexity-file", str(_text_file(tmp_path)),
                 "--context-length", "32", "--stride", "16", "--no-history"])
    assert code == 0
    out = capsys.readouterr().out
    assert "decode tok/s" in out
    assert "Perplexity of original on notes.txt" in out
    assert "median [IQR]" in out
    assert BenchHistory().load() == []


def _text_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("A short note about rivers and bridges.\n\nAnother paragraph about trains.\n")
    return path


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_unavailable_device_exits_2(tmp_path, capsys):
    original = save_tiny_checkpoint(tmp_path / "original")
    code = main(["bench", str(original), "--device", "cuda", *QUICK])
    assert code == 2
    last_line = capsys.readouterr().err.strip().splitlines()[-1]
    assert last_line.startswith("error: Device 'cuda' is not available")


def test_bad_repeats_exits_2(tmp_path, capsys):
    code = main(["bench", str(tmp_path), "--repeats", "0"])
    assert code == 2
    assert "repeats must be at least 1" in capsys.readouterr().err
