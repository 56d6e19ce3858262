"""Side-by-side greedy generations: an editable prompt list and one column per model."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from optipfair_desktop.engine.bench import GenerationRow
from optipfair_desktop.engine.bench.generations import DEFAULT_PROMPTS


class GenerationsTab(QWidget):
    """Prompts on the left, the models' greedy outputs side by side on the right."""

    sigRunRequested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.prompts_edit = QPlainTextEdit("\n".join(DEFAULT_PROMPTS))
        self.prompts_edit.setToolTip("One prompt per line; the model's chat template is applied when it has one")
        self.tokens_spin = QSpinBox()
        self.tokens_spin.setRange(1, 1024)
        self.tokens_spin.setValue(48)
        self.tokens_spin.setSuffix(" new tokens max")
        self.run_button = QPushButton("Generate")
        self.table = QTableWidget(0, 1)
        self.table.setHorizontalHeaderLabels(["Prompt"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("Prompts (one per line, greedy decoding)"))
        left_layout.addWidget(self.prompts_edit, 1)
        controls = QHBoxLayout()
        controls.addWidget(self.tokens_spin)
        controls.addWidget(self.run_button)
        left_layout.addLayout(controls)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.table)
        splitter.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self.run_button.clicked.connect(self.sigRunRequested)

    def prompts(self) -> list[str]:
        return [line.strip() for line in self.prompts_edit.toPlainText().splitlines() if line.strip()]

    def max_new_tokens(self) -> int:
        return self.tokens_spin.value()

    def show_rows(self, labels: list[str], rows: list[GenerationRow]) -> None:
        self.table.clear()
        self.table.setColumnCount(1 + len(labels))
        self.table.setHorizontalHeaderLabels(["Prompt", *labels])
        self.table.setRowCount(len(rows))
        for row_index, row in enumerate(rows):
            self.table.setItem(row_index, 0, QTableWidgetItem(row.prompt))
            for column, (text, count) in enumerate(zip(row.outputs, row.new_tokens), start=1):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{count} tokens generated")
                self.table.setItem(row_index, column, item)
        self.table.resizeRowsToContents()

    def outputs(self) -> list[list[str]]:
        """Return the table's text, row by row (prompt first), for tests and export."""
        return [
            [self.table.item(row, column).text() if self.table.item(row, column) else ""
             for column in range(self.table.columnCount())]
            for row in range(self.table.rowCount())
        ]
