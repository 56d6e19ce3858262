"""Benchmark candidates built from the session, and the functions the panel runs as jobs.

The candidates' load functions call the session from the worker thread, which the session
allows (it loads the weights once and builds the planned model once per plan).
"""

from __future__ import annotations

from pathlib import Path

from optipfair_desktop.engine.bench import (
    BenchCandidate,
    BenchRecord,
    BenchSettings,
    LoadedCandidate,
    folder_candidate,
    perplexity_text,
    plan_to_dict,
    run_benchmark,
    side_by_side_generations,
)
from optipfair_desktop.engine.bench.candidates import plan_summary
from optipfair_desktop.engine.bench.devices import prepare_model, resolve_dtype
from optipfair_desktop.engine.progress import (
    NEVER_CANCELLED,
    CancelToken,
    ProgressCallback,
    no_progress,
    sub_progress,
)

ORIGINAL_LABEL = "original"
PLANNED_LABEL = "planned"


def original_candidate(session) -> BenchCandidate:
    source = session.source
    folder = getattr(source, "folder", None)
    generation = getattr(session, "generation", None)

    def load(progress: ProgressCallback = no_progress, cancel: CancelToken = NEVER_CANCELLED) -> LoadedCandidate:
        model, tokenizer = session.load_model(progress=progress, cancel=cancel, generation=generation)
        return LoadedCandidate(model, tokenizer, folder)

    return BenchCandidate(ORIGINAL_LABEL, "original", load, getattr(source, "name", "") or str(folder or ""))


def planned_candidate(session) -> BenchCandidate:
    """Candidate for the session's current plan, built in memory; the plan is read now."""
    plan_at_start = session.plan
    plan = plan_to_dict(plan_at_start)
    generation = getattr(session, "generation", None)

    def load(progress: ProgressCallback = no_progress, cancel: CancelToken = NEVER_CANCELLED) -> LoadedCandidate:
        _, tokenizer = session.load_model(progress=sub_progress(progress, 0.0, 0.5), cancel=cancel, generation=generation)
        result = session.build_planned_model(progress=sub_progress(progress, 0.5, 1.0), cancel=cancel,
                                             plan=plan_at_start, generation=generation)
        return LoadedCandidate(result.model, tokenizer, None)

    return BenchCandidate(PLANNED_LABEL, "planned", load, plan_summary(plan), plan)


def checkpoint_candidate(folder: str | Path) -> BenchCandidate:
    return folder_candidate(folder, Path(folder).name, kind="folder")


def benchmark_job(
    candidates: list[BenchCandidate],
    settings: BenchSettings,
    perplexity_files: list[Path | None],
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> BenchRecord:
    """Read the perplexity texts (``None``: the calibration text) and run the benchmark."""
    texts = [perplexity_text(path) for path in perplexity_files]
    return run_benchmark(candidates, settings, perplexity_texts=texts, progress=progress, cancel=cancel)


def generations_job(
    candidates: list[BenchCandidate],
    prompts: list[str],
    max_new_tokens: int,
    device: str,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> tuple[list[str], list]:
    """Load each candidate and generate greedily; return the labels and the rows."""
    loaded = []
    for index, candidate in enumerate(candidates):
        step = sub_progress(progress, 0.3 * index / len(candidates), 0.3 * (index + 1) / len(candidates))
        item = candidate.load(progress=step, cancel=cancel)
        if item.tokenizer is None:
            raise ValueError(f"{candidate.label} has no tokenizer, so it cannot generate text.")
        model = prepare_model(item.model, device, resolve_dtype("auto", item.model), in_place=item.owned)
        loaded.append((model, item.tokenizer))
    rows = side_by_side_generations(
        loaded, prompts, max_new_tokens=max_new_tokens, progress=sub_progress(progress, 0.3, 1.0), cancel=cancel
    )
    return [candidate.label for candidate in candidates], rows
