"""A pruning plan as data: which blocks go, which width each MLP keeps, by which criterion.

A plan is validated against a model's structure before anything is cut, previewed in the
diagram, saved as JSON, and applied by ``pruning.build_pruned_model``. Block indices in a plan
always refer to the source model's original numbering.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PLAN_FORMAT_VERSION = 1
METHODS = ("ppm", "vow", "pon", "l2", "hybrid")
METHOD_ALIASES = {"maw": "ppm"}
DIVISORS = (32, 64, 128, 256)
WIDTH_MODES = ("percent", "expansion_rate")
DTYPES = ("float32", "bfloat16", "float16")
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}

# Identity fields that must match for a plan to apply to a model; the name may differ.
IDENTITY_SHAPE_KEYS = ("model_type", "num_hidden_layers", "hidden_size", "intermediate_sizes", "vocab_size")


class PlanError(ValueError):
    """A plan that cannot be applied; the message names the value and the fix."""


PLAN_KEYS = {
    "format_version", "source", "remove_blocks", "width", "method", "divisor", "block_overrides",
    "neuron_scores", "calibration", "dtype", "saved_by", "saved_at",
}


def _integer(value, field_name: str) -> int:
    # JSON object keys arrive as strings, so digit strings are accepted; floats and booleans are not.
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise PlanError(f"Plan field {field_name!r} must be a whole number, not {value!r}.")
    try:
        return int(value)
    except ValueError as error:
        raise PlanError(f"Plan field {field_name!r} must be a whole number, not {value!r}.") from error


def _number(value, field_name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PlanError(f"Plan field {field_name!r} must be a number, not {value!r}.")
    return float(value)


def _list(value, field_name: str) -> list:
    if not isinstance(value, list):
        raise PlanError(f"Plan field {field_name!r} must be a list, not {value!r}.")
    return value


def _integer_list(value, field_name: str) -> list[int]:
    return [i if isinstance(i, int) and not isinstance(i, bool) else _reject_integer(i, field_name)
            for i in _list(value, field_name)]


def _reject_integer(value, field_name: str) -> int:
    raise PlanError(f"Plan field {field_name!r} must list whole block numbers; {value!r} is not one.")


def _mapping(value, field_name: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PlanError(f"Plan field {field_name!r} must be an object, not {value!r}.")
    return value


def normalize_method(method: str) -> str:
    name = str(method).strip().lower()
    name = METHOD_ALIASES.get(name, name)
    if name not in METHODS:
        raise PlanError(f"Unknown width criterion {method!r}; use one of ppm (alias maw), vow, pon, l2, hybrid.")
    return name


@dataclass(frozen=True)
class WidthTarget:
    """How much of an MLP to keep: a pruning percentage or a target expansion rate (percent)."""

    mode: str
    value: float

    def __post_init__(self) -> None:
        if self.mode not in WIDTH_MODES:
            raise PlanError(f"Unknown width mode {self.mode!r}; use 'percent' or 'expansion_rate'.")
        if not isinstance(self.value, (int, float)) or self.value != self.value:
            raise PlanError(f"Width target value {self.value!r} is not a number.")

    @property
    def keeps_all(self) -> bool:
        return self.mode == "percent" and self.value == 0

    def describe(self) -> str:
        if self.mode == "percent":
            return f"prune {self.value:g}%"
        return f"expansion rate {self.value:g}%"

    def to_dict(self) -> dict:
        return {"mode": self.mode, "value": self.value}

    @classmethod
    def from_dict(cls, data: dict) -> "WidthTarget":
        if not isinstance(data, dict) or set(data) != {"mode", "value"}:
            raise PlanError(f"Invalid width target {data!r}: expected {{\"mode\": ..., \"value\": ...}}.")
        return cls(mode=data["mode"], value=_number(data["value"], "width value"))


@dataclass(frozen=True)
class PruningPlan:
    """Depth and width cuts for one source model; an immutable value."""

    source: dict = field(default_factory=dict)
    remove_blocks: tuple[int, ...] = ()
    width: WidthTarget | None = None
    method: str = "ppm"
    divisor: int | None = None
    # Per-block width target that replaces ``width`` for that block; percent 0 keeps the block whole.
    block_overrides: dict[int, WidthTarget] = field(default_factory=dict)
    # Per-block neuron-pair scores that replace the criterion (for example fairness scores);
    # values in [0, 1], higher means pruned first.
    neuron_scores: dict[int, list[float]] = field(default_factory=dict)
    # Calibration settings for the hybrid criterion (text source, window length and count).
    calibration: dict | None = None
    # Weight dtype of the pruned model and its checkpoint; None keeps the source dtype.
    dtype: str | None = None

    def __post_init__(self) -> None:
        if self.dtype is not None and self.dtype not in DTYPES:
            raise PlanError(f"Unknown checkpoint dtype {self.dtype!r}; use one of {', '.join(DTYPES)} or none.")

    def replace(self, **changes: Any) -> "PruningPlan":
        if "remove_blocks" in changes:
            changes["remove_blocks"] = tuple(sorted(set(int(i) for i in changes["remove_blocks"])))
        if "method" in changes:
            changes["method"] = normalize_method(changes["method"])
        return dataclasses.replace(self, **changes)

    @property
    def has_width_cut(self) -> bool:
        targets = [self.width] if self.width is not None else []
        targets += list(self.block_overrides.values())
        return any(not t.keeps_all for t in targets)

    @property
    def is_empty(self) -> bool:
        return not self.remove_blocks and not self.has_width_cut and self.dtype is None

    def width_target_for(self, block_idx: int) -> WidthTarget | None:
        return self.block_overrides.get(block_idx, self.width)

    def to_dict(self) -> dict:
        return {
            "format_version": PLAN_FORMAT_VERSION,
            "source": self.source,
            "remove_blocks": list(self.remove_blocks),
            "width": self.width.to_dict() if self.width else None,
            "method": self.method,
            "divisor": self.divisor,
            "block_overrides": {str(k): v.to_dict() for k, v in sorted(self.block_overrides.items())},
            "neuron_scores": {str(k): list(v) for k, v in sorted(self.neuron_scores.items())},
            "calibration": self.calibration,
            "dtype": self.dtype,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict) -> "PruningPlan":
        if not isinstance(data, dict):
            raise PlanError("A plan file must contain a JSON object.")
        unknown = sorted(set(data) - PLAN_KEYS)
        if unknown:
            raise PlanError(
                f"Unknown plan fields {unknown}; expected some of {sorted(PLAN_KEYS)}. Check the spelling."
            )
        version = _integer(data.get("format_version", PLAN_FORMAT_VERSION), "format_version")
        if version > PLAN_FORMAT_VERSION:
            raise PlanError(
                f"Plan format version {version} is newer than this app reads ({PLAN_FORMAT_VERSION}); update the app."
            )
        source = data.get("source") or {}
        if not isinstance(source, dict):
            raise PlanError(f"Plan field 'source' must be an object, not {source!r}.")
        divisor = data.get("divisor")
        return cls(
            source=dict(source),
            remove_blocks=tuple(sorted(set(_integer_list(data.get("remove_blocks") or [], "remove_blocks")))),
            width=WidthTarget.from_dict(data["width"]) if data.get("width") else None,
            method=normalize_method(data.get("method", "ppm")),
            divisor=_integer(divisor, "divisor") if divisor else None,
            block_overrides={
                _integer(key, "block_overrides key"): WidthTarget.from_dict(value)
                for key, value in _mapping(data.get("block_overrides"), "block_overrides").items()
            },
            neuron_scores={
                _integer(key, "neuron_scores key"): [_number(x, f"neuron_scores[{key}]") for x in _list(value, f"neuron_scores[{key}]")]
                for key, value in _mapping(data.get("neuron_scores"), "neuron_scores").items()
            },
            calibration=data.get("calibration"),
            dtype=data.get("dtype"),
        )

    @classmethod
    def from_json(cls, text: str) -> "PruningPlan":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise PlanError(f"The plan is not valid JSON: {error}") from error
        return cls.from_dict(data)

    def save(self, path: Path | str) -> None:
        Path(path).write_text(self.to_json() + "\n")

    @classmethod
    def load(cls, path: Path | str) -> "PruningPlan":
        path = Path(path)
        if not path.is_file():
            raise PlanError(f"Plan file not found: {path}")
        return cls.from_json(path.read_text())


def parse_block_list(text: str) -> list[int]:
    """Parse a block list such as ``3,5-7`` into ``[3, 5, 6, 7]``."""
    blocks: set[int] = set()
    for part in str(text).replace(" ", "").split(","):
        if not part:
            continue
        try:
            if "-" in part:
                start, end = (int(x) for x in part.split("-", 1))
                if end < start:
                    raise PlanError(f"Block range {part!r} runs backwards; write it as {end}-{start}.")
                blocks.update(range(start, end + 1))
            else:
                blocks.add(int(part))
        except ValueError as error:
            if isinstance(error, PlanError):
                raise
            raise PlanError(f"Invalid block list {text!r}: {part!r} is not a number or a range like 5-7.") from error
    return sorted(blocks)
