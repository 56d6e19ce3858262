"""Table of benchmark rows, one per model and run; the CSV export has every column."""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from optipfair_desktop.engine.bench import BenchRecord
from optipfair_desktop.engine.bench.export import record_rows

# (row key, header, format); the CSV keeps all columns of export.CSV_COLUMNS.
DISPLAY_COLUMNS = (
    ("created", "When", "{}"),
    ("model", "Model", "{}"),
    ("device", "Device", "{}"),
    ("dtype", "Dtype", "{}"),
    ("prefill_tokens_per_s_median", "Prefill tok/s", "{:.1f}"),
    ("decode_tokens_per_s_median", "Decode tok/s", "{:.1f}"),
    ("decode_tokens_per_s_q1", "Decode Q1", "{:.1f}"),
    ("decode_tokens_per_s_q3", "Decode Q3", "{:.1f}"),
    ("time_to_first_token_ms_median", "TTFT ms", "{:.1f}"),
    ("decode_speedup", "Decode speed-up", "x{:.2f}"),
    ("decode_bound", "Bound", "x{:.2f}"),
    ("peak_memory_mib", "Peak MiB", "{:.0f}"),
    ("run_memory_mib", "Run MiB", "{:.1f}"),
    ("parameters", "Parameters", "{:,}"),
    ("perplexity", "Perplexity", "{:.3f}"),
    ("prompt_length", "Prompt", "{}"),
    ("new_tokens", "New tokens", "{}"),
    ("repeats", "Repeats", "{}"),
    ("cpu_model", "CPU", "{}"),
    ("cores", "Cores", "{}"),
    ("gpu", "GPU", "{}"),
    ("torch", "torch", "{}"),
    ("transformers", "transformers", "{}"),
    ("note", "Note", "{}"),
)


def format_cell(value, pattern: str) -> str:
    if value == "" or value is None:
        return ""
    try:
        return pattern.format(value)
    except (ValueError, TypeError):
        return str(value)


class ResultsTable(QTableWidget):
    """Read-only table of benchmark records, newest first."""

    def __init__(self, parent=None) -> None:
        super().__init__(0, len(DISPLAY_COLUMNS), parent)
        self.setHorizontalHeaderLabels([header for _, header, _ in DISPLAY_COLUMNS])
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.records: list[BenchRecord] = []

    def set_records(self, records: list[BenchRecord]) -> None:
        self.records = list(records)
        rows = [row for record in reversed(self.records) for row in record_rows(record)]
        self.setRowCount(len(rows))
        for row_index, row in enumerate(rows):
            for column, (key, _, pattern) in enumerate(DISPLAY_COLUMNS):
                item = QTableWidgetItem(format_cell(row[key], pattern))
                if key == "note":
                    item.setToolTip(str(row[key]))
                self.setItem(row_index, column, item)
