"""Peak memory meter, sizes on disk and the history file."""

import json
import subprocess
import sys
import time

import pytest
import torch

from optipfair_desktop.engine.bench import memory
from optipfair_desktop.engine.bench.history import BenchHistory, default_history_path
from optipfair_desktop.engine.bench.memory import PeakMemoryMeter
from optipfair_desktop.engine.bench.sizes import checkpoint_bytes
from optipfair_desktop.engine.paths import data_dir
from test_bench_support import save_tiny_checkpoint, tiny_record  # noqa: F401 - fixture

MIB = 1024 * 1024


def test_rss_meter_sees_freed_allocation():
    # A fresh process, because after other tests the allocator can serve 200 MiB from freed
    # memory that is still resident, and RSS would not rise. 200 MiB, every page written; glibc
    # may still reuse up to 64 MiB, so only half is required to show.
    code = (
        "import time, torch\n"
        "from optipfair_desktop.engine.bench import memory\n"
        "from optipfair_desktop.engine.bench.memory import PeakMemoryMeter\n"
        "with PeakMemoryMeter('cpu') as meter:\n"
        f"    block = torch.ones({200 * MIB // 4})\n"
        "    time.sleep(0.1)\n"
        "    del block\n"
        "print(meter.method == memory.METHOD_RSS, meter.increase_bytes, meter.peak_bytes >= meter.start_bytes)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    uses_rss, increase, peak_not_below_start = run.stdout.split()
    assert uses_rss == "True"
    assert int(increase) >= 100 * MIB
    assert peak_not_below_start == "True"


def test_cuda_path_reads_max_allocated(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: calls.append("sync"))
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda device=None: calls.append("reset"))
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device=None: 100)
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device=None: 350)
    with PeakMemoryMeter("cuda") as meter:
        pass
    assert calls == ["sync", "reset", "sync"]
    assert meter.method == memory.METHOD_CUDA
    assert meter.start_bytes == 100
    assert meter.peak_bytes == 350
    assert meter.increase_bytes == 250


def test_checkpoint_bytes_sums_safetensors(tmp_path):
    folder = save_tiny_checkpoint(tmp_path / "tiny")
    expected = sum(path.stat().st_size for path in folder.glob("*.safetensors"))
    assert checkpoint_bytes(folder) == expected
    assert expected > 385856 * 4  # the float32 weights plus a header


def test_checkpoint_bytes_without_weights(tmp_path):
    with pytest.raises(ValueError, match="no .safetensors"):
        checkpoint_bytes(tmp_path)


def test_history_survives_reload(tmp_path, tiny_record):
    path = tmp_path / "history.jsonl"
    BenchHistory(path).append(tiny_record)
    BenchHistory(path).append(tiny_record)
    records = BenchHistory(path).load()
    assert len(records) == 2
    assert records[0].to_dict() == tiny_record.to_dict()


def test_history_skips_damaged_line(tmp_path, tiny_record):
    path = tmp_path / "history.jsonl"
    BenchHistory(path).append(tiny_record)
    with path.open("a") as stream:
        stream.write('{"record_id": "cut short\n')
        stream.write(json.dumps({"unexpected": 1}) + "\n")
    BenchHistory(path).append(tiny_record)
    assert len(BenchHistory(path).load()) == 2


def test_history_lives_in_data_dir():
    assert default_history_path().parent == data_dir()
    assert BenchHistory().load() == []
