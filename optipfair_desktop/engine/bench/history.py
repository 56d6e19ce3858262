"""Benchmark history: one JSON object per line in the user data folder.

Appending a line never rewrites older results, and a damaged line (for example from a crash
mid-write) is skipped with a warning instead of hiding the whole history.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from optipfair_desktop.engine.bench.results import BenchRecord
from optipfair_desktop.engine.paths import data_dir

logger = logging.getLogger(__name__)

HISTORY_FILE_NAME = "bench_history.jsonl"


def default_history_path() -> Path:
    return data_dir() / HISTORY_FILE_NAME


class BenchHistory:
    """Kept benchmark records, oldest first."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_history_path()

    def append(self, record: BenchRecord) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as stream:
            stream.write(json.dumps(record.to_dict()) + "\n")
        logger.info("Benchmark %s added to %s", record.record_id, self.path)

    def load(self) -> list[BenchRecord]:
        if not self.path.is_file():
            return []
        records = []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                records.append(BenchRecord.from_dict(json.loads(line)))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
                logger.warning("Skipping line %d of %s, which is not a benchmark record: %s", number, self.path, error)
        return records

    def clear(self) -> None:
        if self.path.exists():
            self.path.unlink()
            logger.info("Benchmark history %s cleared", self.path)
