"""The command line: inspect, prune, and the end-to-end run on the real demo model."""

import json
import subprocess
import sys

import pytest

from optipfair_desktop.cli.main import main
from tiny_models import save_tiny_model


@pytest.fixture
def tiny_folder(tmp_path):
    folder = tmp_path / "tiny"
    save_tiny_model(folder, "gemma3")
    return folder


def test_inspect_json_lists_blocks(tiny_folder, capsys):
    assert main(["inspect", str(tiny_folder), "--json"]) == 0
    blocks = json.loads(capsys.readouterr().out)
    assert [b["index"] for b in blocks] == list(range(6))
    assert blocks[0]["intermediate_size"] == 256
    assert blocks[0]["params"] > 0
    assert blocks[2]["layer_type"] == "full_attention"


def test_prune_writes_checkpoint(tiny_folder, tmp_path, capsys):
    output = tmp_path / "pruned"
    code = main(["prune", str(tiny_folder), "--output", str(output), "--remove-blocks", "1,3-4",
                 "--pruning-percent", "50", "--method", "maw", "--divisor", "32"])
    assert code == 0
    out = capsys.readouterr().out
    assert "Removed blocks: 1, 3, 4" in out
    assert "MLP widths kept: 128" in out
    config = json.loads((output / "config.json").read_text())
    assert config["num_hidden_layers"] == 3
    assert config["intermediate_size"] == 128
    assert json.loads((output / "pruning_plan.json").read_text())["method"] == "ppm"


def test_prune_applies_plan_file(tiny_folder, tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"remove_blocks": [0], "width": {"mode": "expansion_rate", "value": 200}}))
    assert main(["prune", str(tiny_folder), "--output", str(tmp_path / "out"), "--plan", str(plan)]) == 0
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert (config["num_hidden_layers"], config["intermediate_size"]) == (5, 128)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--remove-blocks", "2-x"], "'2-x'"),
        (["--remove-blocks", "0-5"], "removes all 6 blocks"),
        (["--expansion-rate", "500"], "not below its current 400.0%"),
        (["--pruning-percent", "20", "--divisor", "100"], "Divisor 100 is not offered; use one of 32, 64, 128, 256, or none"),
        (["--pruning-percent", "20", "--method", "random"], "Unknown width criterion 'random'"),
        ([], "cuts nothing"),
    ],
)
def test_prune_bad_input_is_one_line(tiny_folder, tmp_path, capsys, extra, message):
    code = main(["prune", str(tiny_folder), "--output", str(tmp_path / "out")] + extra)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("error: ")
    assert message in err[-1]
    assert not (tmp_path / "out").exists()


def test_prune_rejects_plan_for_other_model(tiny_folder, tmp_path, capsys):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"source": {"name": "SmolLM2", "num_hidden_layers": 30}, "remove_blocks": [3]}))
    assert main(["prune", str(tiny_folder), "--output", str(tmp_path / "out"), "--plan", str(plan)]) == 2
    assert "made for SmolLM2" in capsys.readouterr().err


def test_prune_refuses_source_folder(tiny_folder, capsys):
    before = sorted(p.name for p in tiny_folder.iterdir())
    code = main(["prune", str(tiny_folder), "--output", str(tiny_folder / "x"), "--remove-blocks", "1"])
    assert code == 2
    assert "inside the source model" in capsys.readouterr().err
    assert sorted(p.name for p in tiny_folder.iterdir()) == before


@pytest.mark.demo
def test_demo_end_to_end_through_cli(tmp_path):
    output = tmp_path / "smol-pruned"
    run = subprocess.run(
        [sys.executable, "-m", "optipfair_desktop", "prune", "demo", "--output", str(output),
         "--remove-blocks", "13-15", "--expansion-rate", "200", "--divisor", "64"],
        capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert "Removed blocks: 13, 14, 15" in run.stdout
    # Reload in a fresh process with plain transformers only, and generate.
    script = (
        "import sys, torch\n"
        "from transformers import AutoModelForCausalLM, AutoTokenizer\n"
        "m = AutoModelForCausalLM.from_pretrained(sys.argv[1]); t = AutoTokenizer.from_pretrained(sys.argv[1])\n"
        "ids = t('The capital of France is', return_tensors='pt')\n"
        "out = m.generate(**ids, max_new_tokens=8, do_sample=False)\n"
        "print(m.config.num_hidden_layers, m.config.intermediate_size, len(m.model.layers),"
        " m.model.layers[0].mlp.gate_proj.out_features, out.shape[1] - ids.input_ids.shape[1])\n"
        "print(repr(t.decode(out[0], skip_special_tokens=True)))\n"
    )
    reload = subprocess.run([sys.executable, "-c", script, str(output)], capture_output=True, text=True, timeout=300)
    assert reload.returncode == 0, reload.stderr
    numbers, text = reload.stdout.strip().splitlines()[-2:]
    assert numbers.split() == ["27", "1152", "27", "1152", "8"]
    assert text.startswith("'The capital of France is")
    assert len(text) > len("'The capital of France is'")


def test_prune_zero_percent_cuts_nothing(tiny_folder, tmp_path, capsys):
    assert main(["prune", str(tiny_folder), "--output", str(tmp_path / "out"), "--pruning-percent", "0"]) == 2
    assert "cuts nothing" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_prune_output_under_a_file_is_one_line(tiny_folder, tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    code = main(["prune", str(tiny_folder), "--output", str(blocker / "sub"), "--remove-blocks", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("error: ")


@pytest.mark.demo
def test_sigterm_during_save_leaves_nothing(tmp_path):
    import signal

    output = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "optipfair_desktop", "prune", "demo", "--output", str(output), "--remove-blocks", "12"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    for line in process.stderr:
        if "Writing tokenizer" in line or "Reloading" in line:
            process.send_signal(signal.SIGTERM)
            break
    process.stderr.read()
    assert process.wait(timeout=120) == 130
    assert list(tmp_path.iterdir()) == []
