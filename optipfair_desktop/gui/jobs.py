"""Engine jobs the main window runs in its worker: plain functions with progress and cancel."""

from __future__ import annotations

from pathlib import Path

from optipfair_desktop.engine.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress, sub_progress
from optipfair_desktop.engine.sources import open_source
from optipfair_desktop.engine.structure import read_structure
from optipfair_desktop.engine.workflow import prune_and_save


def open_model_job(spec: str, *, progress: ProgressCallback = no_progress, cancel: CancelToken = NEVER_CANCELLED):
    source = open_source(spec, progress=sub_progress(progress, 0.0, 0.95), cancel=cancel)
    structure = read_structure(source.folder)
    progress(1.0, f"Opened {source.name}: {structure.num_blocks} blocks")
    return source, structure


def save_checkpoint_job(session, plan, output_dir: Path, *, overwrite: bool = False,
                        progress: ProgressCallback = no_progress, cancel: CancelToken = NEVER_CANCELLED):
    """Load the weights if needed, apply ``plan`` to a copy and save it (session state is read-only here)."""
    model, tokenizer = session.load_model(sub_progress(progress, 0.0, 0.2), cancel)
    return prune_and_save(
        model, tokenizer, session.source, session.structure, plan, output_dir,
        activation_norms=session.activation_norms, overwrite=overwrite,
        progress=sub_progress(progress, 0.2, 1.0), cancel=cancel,
    )
