"""Benchmarks of original and pruned models: speed, memory, size and perplexity.

Everything here runs without Qt, so the CLI, the tests and the GUI's benchmark panel share it.
"""

from optipfair_desktop.engine.bench.bound import decode_speedup_bound
from optipfair_desktop.engine.bench.candidates import (
    BenchCandidate,
    LoadedCandidate,
    folder_candidate,
    model_candidate,
    plan_to_dict,
)
from optipfair_desktop.engine.bench.devices import available_devices
from optipfair_desktop.engine.bench.generations import GenerationRow, side_by_side_generations
from optipfair_desktop.engine.bench.history import BenchHistory
from optipfair_desktop.engine.bench.perplexity import PerplexityResult, sliding_window_perplexity, text_perplexity
from optipfair_desktop.engine.bench.results import BenchRecord, BenchSettings, Comparison, ModelResult
from optipfair_desktop.engine.bench.runner import run_benchmark
from optipfair_desktop.engine.bench.schedule import interleaved_order
from optipfair_desktop.engine.bench.sizes import bytes_read_per_token, checkpoint_bytes, count_parameters, weight_bytes
from optipfair_desktop.engine.bench.speed import RunTiming, timed_generation
from optipfair_desktop.engine.bench.stats import Summary
from optipfair_desktop.engine.bench.texts import PerplexityText, perplexity_text

__all__ = [
    "BenchCandidate", "BenchHistory", "BenchRecord", "BenchSettings", "Comparison", "GenerationRow",
    "LoadedCandidate", "ModelResult", "PerplexityResult", "PerplexityText", "RunTiming", "Summary",
    "available_devices", "bytes_read_per_token", "checkpoint_bytes", "count_parameters", "decode_speedup_bound",
    "folder_candidate", "interleaved_order", "model_candidate", "perplexity_text", "plan_to_dict", "run_benchmark",
    "side_by_side_generations", "sliding_window_perplexity", "text_perplexity", "timed_generation", "weight_bytes",
]
