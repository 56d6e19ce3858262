"""Convert a GGUF file once into a safetensors model folder in the user cache.

transformers 5 dequantizes GGUF tensors when it loads them (here to float32), but a model loaded
that way keeps a GGUF quantization config and refuses ``save_pretrained``. The conversion
therefore rebuilds the model from its config without that entry, loads the dequantized state
dict into it and saves a normal folder. It takes about 20 s for the 135M demo on 2 cores, so
the result is kept and reused while the GGUF file's path, size and modification time match.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from pathlib import Path

from optipfair_desktop.engine.paths import cache_dir
from optipfair_desktop.engine.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress

logger = logging.getLogger(__name__)

MARKER_FILE = "optipfair_source.json"


def _conversion_key(gguf_path: Path) -> str:
    stat = gguf_path.stat()
    identity = f"{gguf_path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha256(identity.encode()).hexdigest()[:12]


def _target_folder(gguf_path: Path) -> Path:
    return cache_dir() / "converted" / f"{gguf_path.stem}-{_conversion_key(gguf_path)}"


def converted_folder(gguf_path: Path) -> Path | None:
    """Return the finished conversion of ``gguf_path`` if there is one."""
    folder = _target_folder(gguf_path)
    return folder if (folder / MARKER_FILE).is_file() else None


def convert_gguf(
    gguf_path: Path,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> Path:
    """Return a safetensors folder for ``gguf_path``, converting it on the first call."""
    existing = converted_folder(gguf_path)
    if existing is not None:
        progress(1.0, f"Using the converted copy of {gguf_path.name}")
        return existing

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    target = _target_folder(gguf_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        progress(0.02, f"Reading the tokenizer of {gguf_path.name}")
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        cancel.check()

        progress(0.1, f"Dequantizing {gguf_path.name} (about 20 s for 135M parameters)")
        gguf_model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        cancel.check()

        progress(0.7, "Rebuilding the model from its config")
        config = gguf_model.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        config.name_or_path = gguf_path.stem
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config, dtype=gguf_model.dtype)
        model.load_state_dict(gguf_model.state_dict(), strict=False, assign=True)
        model.tie_weights()
        missing = [name for name, tensor in model.state_dict().items() if tensor.is_meta]
        if missing:
            raise ValueError(f"{gguf_path.name}: the GGUF file lacks tensors {missing[:5]}; it cannot be converted.")
        del gguf_model
        cancel.check()

        progress(0.8, "Writing safetensors")
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        try:
            GenerationConfig.from_model_config(model.config).save_pretrained(staging)
        except ValueError as error:
            logger.warning("No generation config written for %s: %s", gguf_path.name, error)
        marker = {"gguf_file": str(gguf_path.resolve()), "size": gguf_path.stat().st_size}
        (staging / MARKER_FILE).write_text(json.dumps(marker, indent=2))
        cancel.check()

        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("Converted %s to %s", gguf_path, target)
    progress(1.0, f"Converted {gguf_path.name}")
    return target
