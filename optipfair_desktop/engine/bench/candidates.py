"""Models to benchmark, each loaded only inside the benchmark job."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from torch import nn

from optipfair_desktop.engine.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress


@dataclass(frozen=True)
class LoadedCandidate:
    model: nn.Module
    tokenizer: Any | None  # None for test models without a tokenizer
    folder: Path | None = None  # checkpoint folder the weights came from, for its size on disk
    owned: bool = False  # True when no other code references the model, so it may be moved in place


# Called as load(progress=..., cancel=...) inside the benchmark job.
LoadFunction = Callable[..., LoadedCandidate]


@dataclass(frozen=True)
class BenchCandidate:
    """One model to compare: a label, what kind it is, and how to get it."""

    label: str
    kind: str  # "original", "planned", "folder" or "model"
    load: LoadFunction
    source: str = ""
    plan: dict | None = None


def model_candidate(label: str, model: nn.Module, tokenizer: Any | None = None, *, kind: str = "model",
                    source: str = "", folder: Path | None = None, plan: dict | None = None) -> BenchCandidate:
    """Wrap a model already in memory."""
    loaded = LoadedCandidate(model, tokenizer, folder)

    def load(progress: ProgressCallback = no_progress, cancel: CancelToken = NEVER_CANCELLED) -> LoadedCandidate:
        return loaded

    return BenchCandidate(label, kind, load, source or label, plan)


def folder_candidate(spec: str | Path, label: str | None = None, *, kind: str = "folder") -> BenchCandidate:
    """Wrap a model folder, GGUF file, cached repo id or ``demo``, loaded with plain transformers."""
    spec = str(spec)

    def load(progress: ProgressCallback = no_progress, cancel: CancelToken = NEVER_CANCELLED) -> LoadedCandidate:
        from optipfair_desktop.engine.loading import load_model
        from optipfair_desktop.engine.progress import sub_progress
        from optipfair_desktop.engine.sources import open_source

        source = open_source(spec, progress=sub_progress(progress, 0.0, 0.5), cancel=cancel)
        model, tokenizer = load_model(source, progress=sub_progress(progress, 0.5, 1.0), cancel=cancel)
        return LoadedCandidate(model, tokenizer, source.folder, owned=True)

    return BenchCandidate(label or Path(spec).name or spec, kind, load, spec)


def plan_to_dict(plan: Any) -> dict | None:
    """Turn a pruning plan into a JSON-ready dict for the history (None stays None).

    Custom neuron-pair scores are replaced by the list of blocks that have them, because one
    float per neuron pair would make every history line hundreds of kilobytes long.
    """
    if plan is None:
        return None
    if hasattr(plan, "to_dict"):
        data = plan.to_dict()
    elif dataclasses.is_dataclass(plan):
        data = dataclasses.asdict(plan)
    else:
        data = dict(plan)
    scores = data.pop("neuron_scores", None) or {}
    data["neuron_scores_blocks"] = sorted(int(block_idx) for block_idx in scores)
    return data


def plan_summary(plan: dict | None) -> str:
    """Describe a plan dict (as ``plan_to_dict`` returns it) in a few words for labels."""
    if not plan:
        return "no plan"
    parts = []
    removed = plan.get("remove_blocks") or []
    if removed:
        parts.append(f"-{len(removed)} blocks ({', '.join(map(str, removed))})")
    width = plan.get("width")
    if width:
        target = "prune" if width.get("mode") == "percent" else "expansion rate"
        text = f"{target} {width.get('value'):g}%"
        if plan.get("divisor"):
            text += f" /{plan['divisor']}"
        parts.append(f"{text} {plan.get('method', '')}".strip())
    if plan.get("block_overrides"):
        parts.append(f"{len(plan['block_overrides'])} block overrides")
    if plan.get("neuron_scores_blocks"):
        parts.append("custom neuron scores")
    return ", ".join(parts) or "empty plan"
