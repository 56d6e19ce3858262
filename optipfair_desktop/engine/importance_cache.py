"""Cache of importance results per model, calibration windows and settings.

Entries live in ``cache_dir()/importance``: block scores as JSON, activation norms as
safetensors. The key is a hash of the model identity string given by the caller, the content hash
of the calibration windows, and the settings of the analysis.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import torch

from optipfair_desktop.engine.block_scores import BlockScores
from optipfair_desktop.engine.paths import cache_dir

logger = logging.getLogger(__name__)

# Bump when a change to the computations makes earlier entries wrong.
CACHE_VERSION = 1


def model_identity_for_folder(folder: str | Path) -> str:
    """Build an identity string for a model folder that changes when its weights or config change."""
    folder = Path(folder).resolve()
    parts = [str(folder)]
    for path in sorted(folder.glob("*.safetensors")) + [folder / "config.json"]:
        if path.is_file():
            stat = path.stat()
            parts.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(parts)


def dtype_name(dtype) -> str:
    """Return a dtype's short name ("float32", "bfloat16") for torch dtypes and strings alike."""
    return str(dtype).replace("torch.", "")


def cache_key(model_identity: str, calibration_hash: str, kind: str, settings: dict[str, Any]) -> str:
    payload = json.dumps(
        {"version": CACHE_VERSION, "model": model_identity, "calibration": calibration_hash, "kind": kind, "settings": settings},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def _entry_path(key: str, suffix: str) -> Path:
    folder = cache_dir() / "importance"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{key}{suffix}"


def load_scores(key: str) -> BlockScores | None:
    path = _entry_path(key, ".json")
    if not path.is_file():
        return None
    try:
        return BlockScores.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as error:
        logger.warning("Ignoring unreadable importance cache entry %s: %s", path, error)
        return None


def store_scores(key: str, scores: BlockScores) -> None:
    path = _entry_path(key, ".json")
    try:
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(scores.to_dict()), encoding="utf-8")
        temporary.replace(path)
    except OSError as error:
        logger.warning("Could not write importance cache entry %s: %s", path, error)


def load_activation_norms(key: str) -> dict[int, torch.Tensor] | None:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = _entry_path(key, ".safetensors")
    if not path.is_file():
        return None
    try:
        return {int(name): tensor for name, tensor in load_file(str(path)).items()}
    except (OSError, ValueError, SafetensorError) as error:
        logger.warning("Ignoring unreadable activation-norm cache entry %s: %s", path, error)
        return None


def store_activation_norms(key: str, norms: dict[int, torch.Tensor]) -> None:
    from safetensors.torch import save_file

    path = _entry_path(key, ".safetensors")
    try:
        temporary = path.with_suffix(".tmp")
        save_file({str(block_idx): tensor.contiguous() for block_idx, tensor in norms.items()}, str(temporary))
        temporary.replace(path)
    except OSError as error:
        logger.warning("Could not write activation-norm cache entry %s: %s", path, error)
