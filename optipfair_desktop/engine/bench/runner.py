"""Run a full benchmark: load, warm up, time interleaved runs, measure memory and perplexity."""

from __future__ import annotations

import datetime
import logging
import uuid
from dataclasses import dataclass, field

import torch

from optipfair_desktop.engine.bench.candidates import BenchCandidate, LoadedCandidate
from optipfair_desktop.engine.bench.comparison import compare_to_baseline
from optipfair_desktop.engine.bench.devices import check_device, dtype_name, prepare_model, resolve_dtype
from optipfair_desktop.engine.bench.machine import machine_info
from optipfair_desktop.engine.bench.memory import PeakMemoryMeter
from optipfair_desktop.engine.bench.perplexity import PerplexityResult, text_perplexity
from optipfair_desktop.engine.bench.prompts import benchmark_prompt_ids
from optipfair_desktop.engine.bench.results import BenchRecord, BenchSettings, ModelResult
from optipfair_desktop.engine.bench.schedule import interleaved_order
from optipfair_desktop.engine.bench.sizes import bytes_read_per_token, checkpoint_bytes, count_parameters, weight_bytes
from optipfair_desktop.engine.bench.speed import RunTiming, timed_generation
from optipfair_desktop.engine.bench.stats import Summary
from optipfair_desktop.engine.bench.texts import PerplexityText
from optipfair_desktop.engine.model_access import decoder_layers
from optipfair_desktop.engine.progress import (
    NEVER_CANCELLED,
    CancelToken,
    ProgressCallback,
    no_progress,
    sub_progress,
)

logger = logging.getLogger(__name__)


@dataclass
class _Measured:
    """Running state of one model during a benchmark."""

    candidate: BenchCandidate
    loaded: LoadedCandidate
    model: torch.nn.Module
    timings: list[RunTiming] = field(default_factory=list)
    peak_memory_bytes: int = 0
    run_memory_bytes: int = 0
    memory_method: str = ""
    perplexity: list[PerplexityResult] = field(default_factory=list)


def _unique_labels(candidates: list[BenchCandidate]) -> list[str]:
    labels: list[str] = []
    for candidate in candidates:
        label = candidate.label
        number = 2
        while label in labels:
            label = f"{candidate.label} ({number})"
            number += 1
        labels.append(label)
    return labels


def _check_positions(model: torch.nn.Module, label: str, settings: BenchSettings) -> None:
    max_positions = getattr(model.config, "max_position_embeddings", None)
    needed = settings.prompt_length + settings.new_tokens
    if max_positions is not None and needed > max_positions:
        raise ValueError(
            f"{label}: prompt length {settings.prompt_length} + new tokens {settings.new_tokens} = {needed} "
            f"exceeds max_position_embeddings {max_positions}; shorten the prompt or generate fewer tokens."
        )


def _load_all(candidates, settings, progress, cancel) -> list[_Measured]:
    measured = []
    for index, candidate in enumerate(candidates):
        cancel.check()
        step = sub_progress(progress, index / len(candidates), (index + 1) / len(candidates))
        step(0.0, f"Loading {candidate.label}")
        loaded = candidate.load(progress=step, cancel=cancel)
        dtype = resolve_dtype(settings.dtype, loaded.model)
        model = prepare_model(loaded.model, settings.device, dtype, in_place=loaded.owned)
        _check_positions(model, candidate.label, settings)
        measured.append(_Measured(candidate, loaded, model))
    return measured


def _timed_runs(measured: list[_Measured], prompt_ids, settings, progress, cancel) -> list[str]:
    """Run the schedule; return the labels of the timed runs in the order they ran."""
    order = interleaved_order(len(measured), settings.repeats, settings.warmups)
    run_labels = []
    for number, run in enumerate(order):
        cancel.check()
        entry = measured[run.model_index]
        kind = f"warm-up {run.repeat + 1}" if run.warmup else f"repeat {run.repeat + 1}/{settings.repeats}"
        progress(number / len(order), f"{entry.candidate.label}: {kind}")

        # Memory is read during the first warm-up, so the sampler thread does not slow a timed
        # run. Without warm-ups it is read during the first timed run.
        measure_memory = run.repeat == 0 and (run.warmup or settings.warmups == 0)
        if measure_memory:
            with PeakMemoryMeter(settings.device) as meter:
                timing, _ = timed_generation(entry.model, prompt_ids, settings.new_tokens, cancel=cancel)
            entry.peak_memory_bytes = meter.peak_bytes
            entry.run_memory_bytes = meter.increase_bytes
            entry.memory_method = meter.method
        else:
            timing, _ = timed_generation(entry.model, prompt_ids, settings.new_tokens, cancel=cancel)

        if not run.warmup:
            entry.timings.append(timing)
            run_labels.append(entry.candidate.label)
    progress(1.0, "Timed runs done")
    return run_labels


def _perplexities(measured, texts, settings, progress, cancel) -> None:
    jobs = [(entry, text) for entry in measured for text in texts]
    for index, (entry, text) in enumerate(jobs):
        if entry.loaded.tokenizer is None:
            raise ValueError(f"{entry.candidate.label} has no tokenizer, so its perplexity cannot be measured.")
        step = sub_progress(progress, index / len(jobs), (index + 1) / len(jobs))
        entry.perplexity.append(text_perplexity(
            entry.model, entry.loaded.tokenizer, text.text, text_name=text.name,
            context_length=settings.perplexity_context_length, stride=settings.perplexity_stride,
            max_tokens=settings.perplexity_max_tokens, progress=step, cancel=cancel,
        ))


def _result(entry: _Measured) -> ModelResult:
    model = entry.model
    folder = entry.loaded.folder
    return ModelResult(
        label=entry.candidate.label,
        kind=entry.candidate.kind,
        source=entry.candidate.source,
        dtype=dtype_name(next(model.parameters()).dtype),
        num_blocks=len(decoder_layers(model)),
        parameters=count_parameters(model),
        weight_bytes=weight_bytes(model),
        bytes_per_token=bytes_read_per_token(model),
        checkpoint_bytes=checkpoint_bytes(folder) if folder is not None else None,
        prefill_tokens_per_s=Summary.of([t.prefill_tokens_per_s for t in entry.timings]),
        decode_tokens_per_s=Summary.of([t.decode_tokens_per_s for t in entry.timings]),
        time_to_first_token_s=Summary.of([t.time_to_first_token_s for t in entry.timings]),
        tokens_generated=tuple(t.tokens_generated for t in entry.timings),
        peak_memory_bytes=entry.peak_memory_bytes,
        run_memory_bytes=entry.run_memory_bytes,
        memory_method=entry.memory_method,
        kv_cache_bytes=entry.timings[-1].kv_cache_bytes,
        perplexity=tuple(entry.perplexity),
        plan=entry.candidate.plan,
    )


def _measure(candidates, settings, perplexity_texts, progress, cancel):
    timing_end = 0.9 if perplexity_texts else 1.0
    logger.info("Benchmark of %s on %s started", ", ".join(c.label for c in candidates), settings.device)

    measured = _load_all(candidates, settings, sub_progress(progress, 0.0, 0.15), cancel)
    first = measured[0]
    vocab_size = first.model.get_input_embeddings().weight.shape[0]
    prompt_ids = benchmark_prompt_ids(first.loaded.tokenizer, settings.prompt_length, vocab_size)
    prompt_ids = prompt_ids.to(settings.device)

    run_order = _timed_runs(measured, prompt_ids, settings, sub_progress(progress, 0.15, timing_end), cancel)
    if perplexity_texts:
        _perplexities(measured, list(perplexity_texts), settings, sub_progress(progress, timing_end, 1.0), cancel)
    return measured, run_order


def run_benchmark(
    candidates: list[BenchCandidate],
    settings: BenchSettings = BenchSettings(),
    *,
    perplexity_texts: list[PerplexityText] = (),
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> BenchRecord:
    """Benchmark every candidate under ``settings``; the first candidate is the baseline.

    Steps: load each model (copied when it must change device or dtype), give every model its
    warm-ups, then time ``settings.repeats`` rounds interleaved A, B, A, B, and finally measure
    perplexity on ``perplexity_texts``. Speed-ups are medians of per-round ratios. A nonzero
    ``settings.torch_threads`` sets torch's CPU thread count for the run; the previous count
    is restored afterwards.
    """
    settings.check()
    check_device(settings.device)
    if not candidates:
        raise ValueError("No model to benchmark; add at least one.")
    candidates = [
        BenchCandidate(label, c.kind, c.load, c.source, c.plan)
        for label, c in zip(_unique_labels(candidates), candidates)
    ]
    default_threads = torch.get_num_threads()
    if settings.torch_threads:
        # NOTE: torch's thread count is process-wide, so other jobs running now share it.
        torch.set_num_threads(settings.torch_threads)
    settings = settings.replace(torch_threads=torch.get_num_threads())
    try:
        measured, run_order = _measure(candidates, settings, perplexity_texts, progress, cancel)
    finally:
        torch.set_num_threads(default_threads)

    results = [_result(entry) for entry in measured]
    comparisons = [compare_to_baseline(results[0], result) for result in results[1:]]
    progress(1.0, "Benchmark done")
    logger.info("Benchmark finished")
    return BenchRecord(
        record_id=uuid.uuid4().hex,
        created=datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        machine=machine_info(),
        settings=settings,
        models=tuple(results),
        comparisons=tuple(comparisons),
        run_order=tuple(run_order),
    )
