"""Flat rows of benchmark results, for a table or a CSV file."""

from __future__ import annotations

import csv
from pathlib import Path

from optipfair_desktop.engine.bench.results import BenchRecord

CSV_COLUMNS = (
    "created", "model", "kind", "device", "dtype", "prompt_length", "new_tokens", "repeats", "warmups",
    "prefill_tokens_per_s_median", "prefill_tokens_per_s_q1", "prefill_tokens_per_s_q3",
    "decode_tokens_per_s_median", "decode_tokens_per_s_q1", "decode_tokens_per_s_q3",
    "time_to_first_token_ms_median", "decode_speedup", "decode_bound", "within_noise",
    "peak_memory_mib", "run_memory_mib", "kv_cache_mib", "memory_method", "parameters", "weight_mib", "checkpoint_mib",
    "perplexity", "perplexity_text", "perplexity_context_length", "perplexity_stride", "perplexity_all",
    "num_blocks", "cpu_model", "cores", "gpu", "torch", "transformers", "note",
)

MIB = 1024 * 1024


def record_rows(record: BenchRecord) -> list[dict]:
    """Return one row per model of ``record``, keyed by ``CSV_COLUMNS``."""
    comparisons = {comparison.label: comparison for comparison in record.comparisons}
    settings = record.settings
    machine = record.machine
    rows = []
    for model in record.models:
        comparison = comparisons.get(model.label)
        perplexity = model.perplexity[0] if model.perplexity else None
        rows.append({
            "created": record.created,
            "model": model.label,
            "kind": model.kind,
            "device": settings.device,
            "dtype": model.dtype,
            "prompt_length": settings.prompt_length,
            "new_tokens": settings.new_tokens,
            "repeats": settings.repeats,
            "warmups": settings.warmups,
            "prefill_tokens_per_s_median": model.prefill_tokens_per_s.median,
            "prefill_tokens_per_s_q1": model.prefill_tokens_per_s.q1,
            "prefill_tokens_per_s_q3": model.prefill_tokens_per_s.q3,
            "decode_tokens_per_s_median": model.decode_tokens_per_s.median,
            "decode_tokens_per_s_q1": model.decode_tokens_per_s.q1,
            "decode_tokens_per_s_q3": model.decode_tokens_per_s.q3,
            "time_to_first_token_ms_median": model.time_to_first_token_s.median * 1000.0,
            "decode_speedup": comparison.decode_speedup.median if comparison else 1.0,
            "decode_bound": comparison.decode_bound if comparison else 1.0,
            "within_noise": comparison.within_noise if comparison else "",
            "peak_memory_mib": model.peak_memory_bytes / MIB,
            "run_memory_mib": model.run_memory_bytes / MIB,
            "kv_cache_mib": model.kv_cache_bytes / MIB,
            "memory_method": model.memory_method,
            "parameters": model.parameters,
            "weight_mib": model.weight_bytes / MIB,
            "checkpoint_mib": model.checkpoint_bytes / MIB if model.checkpoint_bytes is not None else "",
            "perplexity": perplexity.perplexity if perplexity else "",
            "perplexity_text": perplexity.text_name if perplexity else "",
            "perplexity_context_length": perplexity.context_length if perplexity else "",
            "perplexity_stride": perplexity.stride if perplexity else "",
            "perplexity_all": "; ".join(f"{item.text_name}={item.perplexity:.4g}" for item in model.perplexity),
            "num_blocks": model.num_blocks,
            "cpu_model": machine.cpu_model,
            "cores": machine.physical_cores,
            "gpu": machine.gpu,
            "torch": machine.torch,
            "transformers": machine.transformers,
            "note": comparison.note if comparison else "baseline",
        })
    return rows


def write_csv(records: list[BenchRecord], path: str | Path) -> Path:
    """Write every model of every record as one CSV row; return the path written."""
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for record in records:
            writer.writerows(record_rows(record))
    return path
