"""Benchmark settings and results as plain, JSON-ready data.

Every number is stored beside the settings it was measured at, so a history line read back a
month later can be understood on its own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from optipfair_desktop.engine.bench.devices import DTYPE_CHOICES
from optipfair_desktop.engine.bench.machine import MachineInfo
from optipfair_desktop.engine.bench.perplexity import PerplexityResult
from optipfair_desktop.engine.bench.stats import SPREAD_NAME, Summary


@dataclass(frozen=True)
class BenchSettings:
    """Settings shared by every model of one benchmark. Batch size is always 1."""

    device: str = "cpu"
    dtype: str = "auto"  # "auto" keeps each model's own dtype
    prompt_length: int = 128
    new_tokens: int = 32
    repeats: int = 5
    warmups: int = 1
    perplexity_context_length: int = 512
    perplexity_stride: int = 256
    perplexity_max_tokens: int | None = 4096
    batch_size: int = 1
    torch_threads: int = 0  # torch CPU threads, 0 for torch's default. A record stores the count used.
    spread: str = SPREAD_NAME

    def check(self) -> None:
        """Raise ValueError naming the first invalid setting and its valid range."""
        if self.dtype not in DTYPE_CHOICES:
            raise ValueError(f"Unknown dtype {self.dtype!r}; use one of {', '.join(DTYPE_CHOICES)}.")
        if self.prompt_length < 1:
            raise ValueError(f"prompt length must be at least 1 token, got {self.prompt_length}.")
        if self.new_tokens < 2:
            raise ValueError(f"new tokens must be at least 2 to time decode steps, got {self.new_tokens}.")
        if self.repeats < 1:
            raise ValueError(f"repeats must be at least 1, got {self.repeats}.")
        if self.warmups < 0:
            raise ValueError(f"warm-ups must be 0 or more, got {self.warmups}.")
        if self.torch_threads < 0:
            raise ValueError(f"torch threads must be 0 (torch's default) or more, got {self.torch_threads}.")
        if self.batch_size != 1:
            raise ValueError(f"only batch size 1 is measured, got {self.batch_size}.")

    def replace(self, **changes) -> "BenchSettings":
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "BenchSettings":
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


@dataclass(frozen=True)
class ModelResult:
    """Measurements of one model in one benchmark."""

    label: str
    kind: str  # "original", "planned", "folder" or "model"
    source: str  # folder path, model name or plan summary
    dtype: str  # dtype the model ran at
    num_blocks: int
    parameters: int
    weight_bytes: int
    bytes_per_token: int  # weight bytes one batch-1 decode step reads
    checkpoint_bytes: int | None  # safetensors files of a folder; None for a model built in memory
    prefill_tokens_per_s: Summary
    decode_tokens_per_s: Summary
    time_to_first_token_s: Summary
    tokens_generated: tuple[int, ...]  # per timed run; equals new_tokens every time
    peak_memory_bytes: int
    run_memory_bytes: int  # peak minus the memory in use when the run started
    memory_method: str
    kv_cache_bytes: int = 0  # key and value tensors after prompt_length + new_tokens - 1 positions
    perplexity: tuple[PerplexityResult, ...] = ()
    plan: dict | None = None

    def to_dict(self) -> dict:
        data = asdict(self)
        for name in ("prefill_tokens_per_s", "decode_tokens_per_s", "time_to_first_token_s"):
            data[name] = getattr(self, name).to_dict()
        data["tokens_generated"] = list(self.tokens_generated)
        data["perplexity"] = [result.to_dict() for result in self.perplexity]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "ModelResult":
        values = dict(data)
        for name in ("prefill_tokens_per_s", "decode_tokens_per_s", "time_to_first_token_s"):
            values[name] = Summary.from_dict(values[name])
        values["tokens_generated"] = tuple(values["tokens_generated"])
        values["perplexity"] = tuple(PerplexityResult.from_dict(item) for item in values.get("perplexity", ()))
        return cls(**values)


@dataclass(frozen=True)
class Comparison:
    """One model against the baseline (the first model of the benchmark)."""

    label: str
    baseline: str
    prefill_speedup: Summary  # per-pair ratios of prefill tokens/s
    decode_speedup: Summary  # per-pair ratios of decode tokens/s
    decode_bound: float  # largest decode speed-up the removed weight bytes allow
    baseline_decode_spread: float  # the baseline's decode IQR as a fraction of its median
    within_noise: bool  # True when the decode gain is not larger than that spread
    note: str

    def to_dict(self) -> dict:
        data = asdict(self)
        data["prefill_speedup"] = self.prefill_speedup.to_dict()
        data["decode_speedup"] = self.decode_speedup.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Comparison":
        values = dict(data)
        values["prefill_speedup"] = Summary.from_dict(values["prefill_speedup"])
        values["decode_speedup"] = Summary.from_dict(values["decode_speedup"])
        return cls(**values)


@dataclass(frozen=True)
class BenchRecord:
    """One benchmark: when, where, with which settings, and every model's results."""

    record_id: str
    created: str  # ISO 8601 local time with offset
    machine: MachineInfo
    settings: BenchSettings
    models: tuple[ModelResult, ...]
    comparisons: tuple[Comparison, ...] = field(default=())
    run_order: tuple[str, ...] = field(default=())  # labels of the timed runs, in order

    def to_dict(self) -> dict:
        return {
            "record_id": self.record_id,
            "created": self.created,
            "machine": self.machine.to_dict(),
            "settings": self.settings.to_dict(),
            "models": [model.to_dict() for model in self.models],
            "comparisons": [comparison.to_dict() for comparison in self.comparisons],
            "run_order": list(self.run_order),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "BenchRecord":
        return cls(
            record_id=data["record_id"],
            created=data["created"],
            machine=MachineInfo.from_dict(data["machine"]),
            settings=BenchSettings.from_dict(data["settings"]),
            models=tuple(ModelResult.from_dict(item) for item in data["models"]),
            comparisons=tuple(Comparison.from_dict(item) for item in data.get("comparisons", ())),
            run_order=tuple(data.get("run_order", ())),
        )
