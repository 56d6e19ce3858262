"""Save a pruned model as a checkpoint that plain transformers loads, atomically.

Everything is written into a hidden staging folder beside the output. That folder is reloaded
with ``AutoModelForCausalLM.from_pretrained`` and compared on a fixed input, and only then is it
renamed to the output. A failed, cancelled or mismatching save removes the staging
folder, so no half-written checkpoint is ever left at the output path.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from optipfair_desktop import __version__
from optipfair_desktop.engine.model_card import write_model_card
from optipfair_desktop.engine.model_access import model_device
from optipfair_desktop.engine.paths import cache_dir
from optipfair_desktop.engine.plan import PruningPlan
from optipfair_desktop.engine.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress

logger = logging.getLogger(__name__)

PLAN_FILE = "pruning_plan.json"


class SaveError(ValueError):
    """A save that was rejected or failed; nothing was written at the output path."""


@dataclass(frozen=True)
class SaveResult:
    output_dir: Path
    params: int
    bytes_on_disk: int
    logits_identical: bool
    max_abs_logit_difference: float


def check_output_dir(output_dir: Path, protected: list[Path], overwrite: bool) -> Path:
    """Reject an output path that would overwrite a source, the app's cache, or a folder unasked.

    With ``overwrite`` only an empty folder or an earlier checkpoint of this app (a folder with
    ``pruning_plan.json``) may be replaced, so a typo cannot wipe an unrelated folder.
    """
    output_dir = Path(output_dir).expanduser().resolve()
    for source in [*protected, cache_dir()]:
        source = Path(source).resolve()
        if output_dir == source or source in output_dir.parents:
            raise SaveError(f"The output {output_dir} is inside the source model or app cache {source}; "
                            "choose another folder.")
        if output_dir in source.parents:
            raise SaveError(f"The output {output_dir} contains the source model or app cache {source}; "
                            "choose another folder.")
    if output_dir.exists():
        if not output_dir.is_dir():
            raise SaveError(f"The output {output_dir} exists and is a file; choose a folder path.")
        if any(output_dir.iterdir()):
            if not overwrite:
                raise SaveError(
                    f"The output folder {output_dir} already exists and is not empty; choose a new folder "
                    "or confirm overwriting it (--overwrite)."
                )
            if not (output_dir / PLAN_FILE).is_file():
                raise SaveError(
                    f"The output folder {output_dir} is not a checkpoint saved by this app (no {PLAN_FILE}), "
                    "so it is not replaced even with --overwrite; choose a new folder or empty it yourself."
                )
    if not output_dir.parent.is_dir():
        raise SaveError(f"The parent folder {output_dir.parent} does not exist; create it first.")
    return output_dir


def _apply_default_permissions(folder: Path) -> None:
    # mkdtemp creates the staging folder as 0700 and some writers create 0600 files. The finished
    # checkpoint gets the permissions that a plain mkdir and open would give it.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(folder, 0o777 & ~umask)
    for path in folder.iterdir():
        if path.is_file():
            os.chmod(path, 0o666 & ~umask)


def _move_into_place(staging: Path, output_dir: Path, protected: list[Path], overwrite: bool) -> None:
    # Check again: another save may have created the folder while this one was writing.
    check_output_dir(output_dir, protected, overwrite)
    if output_dir.exists() and any(output_dir.iterdir()):
        retired = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.old-", dir=output_dir.parent))
        output_dir.rename(retired / "old")
        staging.rename(output_dir)
        shutil.rmtree(retired, ignore_errors=True)
        return
    if output_dir.exists():
        output_dir.rmdir()
    try:
        # rename() fails on a non-empty target folder, which closes the race left after the check.
        staging.rename(output_dir)
    except OSError as error:
        raise SaveError(f"Could not move the checkpoint into {output_dir}: {error}; another save may be "
                        "writing there. Choose another folder.") from error


def verification_input(vocab_size: int) -> torch.Tensor:
    """Return a fixed, deterministic batch of token ids for comparing logits after a save."""
    generator = torch.Generator().manual_seed(1234)
    return torch.randint(3, vocab_size, (2, 24), generator=generator)


def compare_logits(model_a: nn.Module, model_b: nn.Module) -> float:
    """Return the largest absolute logit difference of two models on the verification input."""
    input_ids = verification_input(model_a.config.vocab_size)
    with torch.no_grad():
        logits_a = model_a(input_ids=input_ids.to(model_device(model_a))).logits.float().cpu()
        logits_b = model_b(input_ids=input_ids.to(model_device(model_b))).logits.float().cpu()
    if logits_a.shape != logits_b.shape:
        return float("inf")
    return float((logits_a - logits_b).abs().max())


def save_checkpoint(
    model: nn.Module,
    tokenizer,
    plan: PruningPlan,
    output_dir: Path | str,
    *,
    source_folders: list[Path],
    card_facts: dict,
    overwrite: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> SaveResult:
    """Write ``model`` with its tokenizer, plan and model card to ``output_dir`` and verify it.

    ``source_folders`` are never written to, and the output may not be inside or around them.
    ``card_facts`` contains what the model card reports (source name, sizes before and after).
    """
    from transformers import AutoModelForCausalLM

    output_dir = check_output_dir(Path(output_dir), source_folders, overwrite)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.partial-", dir=output_dir.parent))
    try:
        progress(0.05, "Writing safetensors weights")
        model.save_pretrained(staging)
        cancel.check()

        progress(0.45, "Writing tokenizer and generation config")
        if tokenizer is not None:
            tokenizer.save_pretrained(staging)
        if getattr(model, "generation_config", None) is not None:
            model.generation_config.save_pretrained(staging)
        plan_data = plan.to_dict()
        plan_data["saved_by"] = f"OptiPFair Desktop {__version__}"
        plan_data["saved_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        (staging / PLAN_FILE).write_text(json.dumps(plan_data, indent=2) + "\n")
        write_model_card(staging / "README.md", plan, card_facts)
        cancel.check()

        progress(0.6, "Reloading with AutoModelForCausalLM.from_pretrained")
        reloaded = AutoModelForCausalLM.from_pretrained(staging)
        reloaded.eval()
        cancel.check()
        progress(0.85, "Comparing logits on a fixed input")
        difference = compare_logits(model, reloaded.to(model_device(model)))
        params = sum(p.numel() for p in reloaded.parameters())
        del reloaded
        if difference != 0.0:
            raise SaveError(
                f"The reloaded checkpoint's logits differ from the pruned model's by up to {difference:.3g}; "
                "nothing was saved. Report this with the plan file."
            )
        cancel.check()

        _apply_default_permissions(staging)
        _move_into_place(staging, output_dir, protected=source_folders, overwrite=overwrite)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

    size = sum(p.stat().st_size for p in output_dir.glob("*.safetensors"))
    logger.info("Saved %s (%d parameters, %d bytes of weights)", output_dir, params, size)
    progress(1.0, f"Saved {output_dir}; reloaded logits are identical")
    return SaveResult(output_dir, params, size, True, 0.0)
