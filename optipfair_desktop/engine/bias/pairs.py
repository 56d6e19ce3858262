"""Prompt pairs: two prompts that differ only in a protected attribute.

The shipped defaults live in ``resources/prompt_pairs/default_pairs.json`` and the attribute
values per category, used by :func:`generate_pairs`, in ``resources/prompt_pairs/attributes.json``.
"""

from __future__ import annotations

import itertools
import json
import logging
from dataclasses import asdict, dataclass
from functools import lru_cache

from optipfair_desktop.engine.resources import resource_path

logger = logging.getLogger(__name__)

PLACEHOLDER = "{attribute}"
PAIR_FIELDS = ("prompt_a", "prompt_b", "category", "attribute_a", "attribute_b")
PAIRINGS = ("all", "first_vs_rest")


@dataclass(frozen=True)
class PromptPair:
    """Two prompts that differ only in a protected attribute, with the attribute values named."""

    prompt_a: str
    prompt_b: str
    category: str = ""
    attribute_a: str = ""
    attribute_b: str = ""

    def __post_init__(self) -> None:
        for name in PAIR_FIELDS:
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"Prompt pair field {name!r} must be text, got {getattr(self, name)!r}.")
        if not self.prompt_a.strip() or not self.prompt_b.strip():
            raise ValueError("A prompt pair needs two non-empty prompts; fill in prompt_a and prompt_b.")

    @property
    def label(self) -> str:
        """Short name for lists: the category and the two attribute values when known."""
        if self.attribute_a or self.attribute_b:
            head = f"{self.category}: " if self.category else ""
            return f"{head}{self.attribute_a} / {self.attribute_b}"
        return self.prompt_a if len(self.prompt_a) <= 40 else self.prompt_a[:37] + "..."

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@lru_cache(maxsize=1)
def _default_pairs_cached() -> tuple[PromptPair, ...]:
    path = resource_path("prompt_pairs/default_pairs.json")
    return tuple(pairs_from_json_text(path.read_text(encoding="utf-8"), source=path.name))


def default_pairs() -> list[PromptPair]:
    """Return the shipped prompt pairs (race, gender, religion, nationality, socioeconomic status, age)."""
    return list(_default_pairs_cached())


@lru_cache(maxsize=1)
def attribute_categories() -> dict[str, tuple[str, ...]]:
    """Return the shipped attribute values per category, e.g. ``{"religion": ("Christian", ...)}``."""
    path = resource_path("prompt_pairs/attributes.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    return {str(category): tuple(str(value) for value in values) for category, values in data["categories"].items()}


def generate_pairs(
    template: str,
    category: str,
    attributes: list[str] | tuple[str, ...] | None = None,
    pairing: str = "all",
) -> list[PromptPair]:
    """Fill ``{attribute}`` in ``template`` with attribute values of ``category``, two at a time.

    ``attributes`` defaults to the shipped values of the category. ``pairing`` is ``"all"`` (every
    unordered pair of values) or ``"first_vs_rest"`` (the first value against each other one).
    """
    if PLACEHOLDER not in template:
        raise ValueError(
            f"The template {template!r} has no {PLACEHOLDER} placeholder; "
            f"write it where the attribute goes, e.g. 'The {PLACEHOLDER} family moved in.'"
        )
    if pairing not in PAIRINGS:
        raise ValueError(f"Unknown pairing {pairing!r}; use one of {', '.join(PAIRINGS)}.")
    if attributes is None:
        categories = attribute_categories()
        if category not in categories:
            raise ValueError(
                f"Unknown attribute category {category!r}; use one of {', '.join(categories)} "
                "or pass your own attribute values."
            )
        attributes = categories[category]
    values = [value.strip() for value in attributes if value and value.strip()]
    if len(set(values)) < 2:
        raise ValueError(f"Generating pairs needs at least two different attribute values, got {list(attributes)!r}.")
    values = list(dict.fromkeys(values))

    if pairing == "all":
        combinations = list(itertools.combinations(values, 2))
    else:
        combinations = [(values[0], other) for other in values[1:]]
    return [
        PromptPair(
            prompt_a=template.replace(PLACEHOLDER, value_a),
            prompt_b=template.replace(PLACEHOLDER, value_b),
            category=category,
            attribute_a=value_a,
            attribute_b=value_b,
        )
        for value_a, value_b in combinations
    ]


def pair_from_record(record: object, where: str) -> PromptPair:
    """Build one pair from a dict record; errors start with ``where`` (file and row) and name the field."""
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected an object with prompt_a and prompt_b, got {type(record).__name__}.")
    unknown = sorted(set(record) - set(PAIR_FIELDS))
    if unknown:
        raise ValueError(f"{where}: unknown field {unknown[0]!r}; the fields are {', '.join(PAIR_FIELDS)}.")
    values = {}
    for name in PAIR_FIELDS:
        value = record.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise ValueError(f"{where}: field {name!r} must be text, got {value!r}.")
        # Prompts keep their spacing because a leading space changes the tokenization.
        values[name] = value if name in ("prompt_a", "prompt_b") else value.strip()
    for name in ("prompt_a", "prompt_b"):
        if not values[name].strip():
            raise ValueError(f"{where}: field {name!r} is empty; every pair needs both prompts.")
    return PromptPair(**values)


def pairs_from_records(records: list, *, source: str) -> list[PromptPair]:
    """Build pairs from a list of dict records, numbered from 1 in error messages."""
    return [pair_from_record(record, f"{source} pair {number}") for number, record in enumerate(records, start=1)]


def pairs_from_json_text(text: str, *, source: str = "JSON") -> list[PromptPair]:
    """Parse pairs from JSON: a list of pair objects, or ``{"pairs": [...]}``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{source} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}.") from error
    if isinstance(data, dict):
        if "pairs" not in data:
            raise ValueError(f"{source}: the JSON object has no 'pairs' list.")
        data = data["pairs"]
    if not isinstance(data, list):
        raise ValueError(f"{source}: expected a list of prompt pairs, got {type(data).__name__}.")
    return pairs_from_records(data, source=source)


def pairs_to_json_text(pairs: list[PromptPair]) -> str:
    return json.dumps({"format_version": 1, "pairs": [pair.to_dict() for pair in pairs]}, indent=2, ensure_ascii=False) + "\n"
