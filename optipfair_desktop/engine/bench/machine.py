"""Description of the machine and software a benchmark ran on, stored beside every result."""

from __future__ import annotations

import platform
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil
import torch


@dataclass(frozen=True)
class MachineInfo:
    cpu_model: str
    physical_cores: int
    logical_cores: int
    memory_bytes: int
    system: str  # for example "Linux-6.8.0-x86_64"
    python: str
    torch: str
    transformers: str
    app: str
    gpu: str  # CUDA or MPS device name; empty without one

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "MachineInfo":
        known = {name: data.get(name, "") for name in cls.__dataclass_fields__}
        return cls(**known)


def cpu_model_name() -> str:
    """Read the CPU's marketing name, which ``platform.processor()`` leaves empty on Linux."""
    system = platform.system()
    if system == "Linux":
        cpuinfo = Path("/proc/cpuinfo")
        if cpuinfo.is_file():
            for line in cpuinfo.read_text(errors="replace").splitlines():
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    if system == "Darwin":
        try:
            return subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True, timeout=5, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine() or "unknown CPU"


def gpu_name() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    backend = getattr(torch.backends, "mps", None)
    if backend is not None and backend.is_available():
        return "Apple MPS"
    return ""


def machine_info() -> MachineInfo:
    import transformers

    from optipfair_desktop import __version__

    return MachineInfo(
        cpu_model=cpu_model_name(),
        physical_cores=psutil.cpu_count(logical=False) or 0,
        logical_cores=psutil.cpu_count(logical=True) or 0,
        memory_bytes=int(psutil.virtual_memory().total),
        system=platform.platform(terse=False),
        python=sys.version.split()[0],
        torch=torch.__version__,
        transformers=transformers.__version__,
        app=__version__,
        gpu=gpu_name(),
    )
