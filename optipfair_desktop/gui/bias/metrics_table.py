"""Table of the metrics per block and component, beside the noise floor, with summaries over blocks."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from optipfair_desktop.engine.bias.analysis import BiasAnalysis
from optipfair_desktop.gui.bias.export import ExportBar

HEADERS = ("Block", "Component", "Mean", "Max", "Std", "L1", "L2", "Noise floor", "Mean / noise")


class NumericItem(QTableWidgetItem):
    """Read-only cell that shows a formatted number and sorts by its value."""

    def __init__(self, value: float, text: str | None = None) -> None:
        super().__init__(text if text is not None else _format(value))
        self.value = value
        self.setFlags(self.flags() & ~Qt.ItemFlag.ItemIsEditable)
        self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def __lt__(self, other: QTableWidgetItem) -> bool:
        if isinstance(other, NumericItem):
            return self.value < other.value
        return super().__lt__(other)


def _format(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if math.isinf(value):
        return "inf"
    return f"{value:.6g}"


class MetricsTable(QWidget):
    """One row per block and component; rows with block 'all' summarize a component over the blocks."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = ""
        self.caption = QLabel("Run an analysis to fill the table.")
        self.caption.setWordWrap(True)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setSortingEnabled(True)
        self.table.verticalHeader().setVisible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addWidget(self.table, 1)
        layout.addWidget(ExportBar("bias_metrics", table=lambda: (self.table, {"comparison mode": self.mode})))

    def clear(self) -> None:
        self.mode = ""
        self.table.setRowCount(0)
        self.caption.setText("Run an analysis to fill the table.")

    def set_analysis(self, analysis: BiasAnalysis, pair_index: int | None, pair_text: str) -> None:
        self.mode = analysis.mode
        floor = analysis.noise_floor
        noise_text = ("noise floor = max of a repeat run and a "
                      f"{floor.other_dtype} copy, over {floor.prompt_count} prompts") if floor else "no noise floor measured"
        self.caption.setText(
            f"Absolute differences |A − B| at the compared rows — {analysis.mode} comparison, {pair_text}; {noise_text}. "
            "Rows with block 'all' summarize the per-block means as the reference library does "
            "(mean, max and std over blocks; L1 and L2 of the per-block means)."
        )
        self.table.setSortingEnabled(False)
        rows = []
        for component in analysis.components:
            stats = {name: analysis.block_stat(component, name, pair_index) for name in ("mean", "max", "std", "l1", "l2")}
            noise = analysis.noise_level(component)
            for position, block_idx in enumerate(analysis.block_indices):
                floor_value = None if noise is None else float(noise[position])
                mean = float(stats["mean"][position])
                ratio = None if not floor_value else mean / floor_value
                rows.append([NumericItem(block_idx, str(block_idx)), component]
                            + [float(stats[name][position]) for name in ("mean", "max", "std", "l1", "l2")]
                            + [floor_value, ratio])
            summary = analysis.component_summary(component, pair_index)
            rows.append([NumericItem(math.inf, "all"), component, summary.mean, summary.max, summary.std,
                         summary.l1, summary.l2, None, None])
        overall = analysis.overall_summary(pair_index)
        rows.append([NumericItem(math.inf, "all"), "all components", overall.mean, overall.max, overall.std,
                     overall.l1, overall.l2, None, None])

        self.table.setRowCount(len(rows))
        for row, values in enumerate(rows):
            for column, value in enumerate(values):
                if isinstance(value, QTableWidgetItem):
                    item = value
                elif isinstance(value, str):
                    item = QTableWidgetItem(value)
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                else:
                    item = NumericItem(math.nan if value is None else value, _format(value))
                self.table.setItem(row, column, item)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.resizeColumnsToContents()
