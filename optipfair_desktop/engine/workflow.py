"""Prune-and-save as one engine job, shared by the CLI and the GUI."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from optipfair_desktop.engine.checkpoint import SaveResult, save_checkpoint
from optipfair_desktop.engine.plan import PruningPlan
from optipfair_desktop.engine.plan_check import summarize_plan
from optipfair_desktop.engine.progress import (
    NEVER_CANCELLED,
    CancelToken,
    ProgressCallback,
    no_progress,
    sub_progress,
)
from optipfair_desktop.engine.pruning import PruneResult, build_pruned_model
from optipfair_desktop.engine.sources import ModelSource
from optipfair_desktop.engine.structure import ModelStructure


@dataclass
class PruneAndSaveResult:
    prune: PruneResult
    save: SaveResult


def card_facts(source: ModelSource, structure: ModelStructure, plan: PruningPlan, output_dir: Path) -> dict:
    summary = summarize_plan(structure, plan)
    return {
        "output_name": Path(output_dir).name,
        "source_name": source.name,
        "blocks_before": summary.original_blocks,
        "blocks_after": summary.planned_blocks,
        "params_before": summary.original_params,
        "params_after": summary.planned_params,
        "bytes_before": summary.original_bytes,
        "bytes_after": summary.planned_bytes,
        "padding_params": summary.padding_params,
        "width_before": ", ".join(str(w) for w in sorted({b.intermediate_size for b in structure.blocks if b.intermediate_size})),
        "width_after": ", ".join(str(w) for w in sorted(set(summary.widths.values()))),
        "dtype": structure.dtype,
        "dtype_after": plan.dtype or structure.dtype,
    }


def prune_and_save(
    model,
    tokenizer,
    source: ModelSource,
    structure: ModelStructure,
    plan: PruningPlan,
    output_dir: Path | str,
    *,
    activation_norms=None,
    overwrite: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> PruneAndSaveResult:
    """Apply ``plan`` to a copy of ``model`` and save it; the loaded model stays unchanged."""
    from optipfair_desktop.engine.checkpoint import check_output_dir

    protected = [source.folder, source.original_path]
    # Reject a bad output path before spending time on the cut.
    check_output_dir(Path(output_dir), protected, overwrite)
    facts = card_facts(source, structure, plan, Path(output_dir))
    pruned = build_pruned_model(
        model, plan, activation_norms=activation_norms, progress=sub_progress(progress, 0.0, 0.4), cancel=cancel
    )
    saved = save_checkpoint(
        pruned.model, tokenizer, plan, output_dir,
        source_folders=protected, card_facts=facts, overwrite=overwrite,
        progress=sub_progress(progress, 0.4, 1.0), cancel=cancel,
    )
    return PruneAndSaveResult(pruned, saved)
