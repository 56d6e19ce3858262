"""Devices and dtypes a benchmark can run on, and the synchronisation around timed regions."""

from __future__ import annotations

import copy
import logging

import torch
from torch import nn

logger = logging.getLogger(__name__)

DTYPE_CHOICES = ("auto", "float32", "bfloat16", "float16")


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return backend is not None and backend.is_available()


def available_devices() -> list[str]:
    """List the devices this machine can benchmark on, the CPU first."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    if mps_available():
        devices.append("mps")
    return devices


def check_device(device: str) -> str:
    """Return ``device`` if this machine has it, else raise ValueError naming the choices."""
    base = device.split(":", 1)[0]
    if base not in ("cpu", "cuda", "mps"):
        raise ValueError(f"Unknown device {device!r}; use cpu, cuda or mps.")
    if base not in available_devices():
        raise ValueError(
            f"Device {device!r} is not available on this machine; available: {', '.join(available_devices())}."
        )
    return device


def same_device(actual: torch.device, requested: torch.device | str) -> bool:
    """Compare devices where ``cuda`` means the current CUDA device, as torch reads it."""
    requested = torch.device(requested)
    if actual.type != requested.type:
        return False
    if requested.index is None:
        return actual.type != "cuda" or actual.index in (None, torch.cuda.current_device())
    return actual.index == requested.index


def synchronize(device: torch.device | str) -> None:
    """Wait until queued kernels on ``device`` have finished, so a timer reads the real end."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def resolve_dtype(name: str, model: nn.Module) -> torch.dtype:
    """Turn a dtype choice into a torch dtype; ``auto`` keeps the model's own."""
    if name not in DTYPE_CHOICES:
        raise ValueError(f"Unknown dtype {name!r}; use one of {', '.join(DTYPE_CHOICES)}.")
    if name == "auto":
        return next(model.parameters()).dtype
    return getattr(torch, name)


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def prepare_model(model: nn.Module, device: str, dtype: torch.dtype, *, in_place: bool = False) -> nn.Module:
    """Return ``model`` on ``device`` at ``dtype``.

    Unless ``in_place`` is set, a model that must move or change is copied first and the given
    one stays as it is, because other panels may use it at the same time.
    """
    parameter = next(model.parameters())
    if same_device(parameter.device, device) and parameter.dtype == dtype:
        return model
    description = "the model" if in_place else "a copy of the model"
    logger.info("Moving %s to %s at %s for the benchmark", description, device, dtype_name(dtype))
    moved = model if in_place else copy.deepcopy(model)
    moved.to(device=device, dtype=dtype)
    moved.eval()
    return moved
