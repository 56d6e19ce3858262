"""Read and write prompt pairs as CSV or JSON files, chosen by the file extension."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

from optipfair_desktop.engine.bias.pairs import (
    PAIR_FIELDS,
    PromptPair,
    pairs_from_json_text,
    pair_from_record,
    pairs_to_json_text,
)

logger = logging.getLogger(__name__)

FILE_SUFFIXES = (".csv", ".json")


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FILE_SUFFIXES:
        raise ValueError(f"Unsupported prompt pair file {path.name!r}; use a .csv or .json file.")
    return suffix


def pairs_from_csv_text(text: str, *, source: str = "CSV") -> list[PromptPair]:
    """Parse pairs from CSV with a header row naming at least prompt_a and prompt_b."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames
    if not header:
        raise ValueError(f"{source} is empty; the first line must be a header such as {','.join(PAIR_FIELDS)}.")
    header = [name.strip() for name in header]
    reader.fieldnames = header
    missing = [name for name in ("prompt_a", "prompt_b") if name not in header]
    if missing:
        raise ValueError(f"{source}: the header has no {missing[0]!r} column; the header is {','.join(header)}.")
    unknown = [name for name in header if name not in PAIR_FIELDS]
    if unknown:
        raise ValueError(f"{source}: unknown column {unknown[0]!r}; the columns are {', '.join(PAIR_FIELDS)}.")

    pairs = []
    line_number = reader.line_num + 1
    for record in reader:
        where = f"{source} line {line_number}"
        if None in record:
            # DictReader files surplus cells under the key None.
            raise ValueError(f"{where}: more cells than header columns; quote prompts that contain commas.")
        pairs.append(pair_from_record({name: value or "" for name, value in record.items()}, where))
        # A quoted prompt may span several lines, so the next record starts after the reader's position.
        line_number = reader.line_num + 1
    return pairs


def pairs_to_csv_text(pairs: list[PromptPair]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(PAIR_FIELDS), lineterminator="\n")
    writer.writeheader()
    for pair in pairs:
        writer.writerow(pair.to_dict())
    return buffer.getvalue()


def load_pairs(path: Path | str) -> list[PromptPair]:
    """Read prompt pairs from a .csv or .json file; errors name the file, the row and the field."""
    path = Path(path)
    suffix = _suffix(path)
    if not path.is_file():
        raise ValueError(f"Prompt pair file not found: {path}.")
    text = path.read_text(encoding="utf-8-sig")
    pairs = pairs_from_csv_text(text, source=path.name) if suffix == ".csv" else pairs_from_json_text(text, source=path.name)
    if not pairs:
        raise ValueError(f"{path.name} contains no prompt pairs.")
    logger.info("Read %d prompt pairs from %s", len(pairs), path)
    return pairs


def save_pairs(path: Path | str, pairs: list[PromptPair]) -> None:
    """Write prompt pairs to a .csv or .json file."""
    path = Path(path)
    suffix = _suffix(path)
    text = pairs_to_csv_text(pairs) if suffix == ".csv" else pairs_to_json_text(pairs)
    path.write_text(text, encoding="utf-8")
    logger.info("Wrote %d prompt pairs to %s", len(pairs), path)
