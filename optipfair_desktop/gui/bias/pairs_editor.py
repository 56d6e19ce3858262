"""Editable table of prompt pairs with add, remove, generate, import, export and reset."""

from __future__ import annotations

import logging

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from optipfair_desktop.engine.bias.pair_files import load_pairs, save_pairs
from optipfair_desktop.engine.bias.pairs import PAIR_FIELDS, PromptPair, default_pairs, pair_from_record
from optipfair_desktop.gui.bias.generator_dialog import GeneratorDialog

logger = logging.getLogger(__name__)

HEADERS = ("Prompt A", "Prompt B", "Category", "Attribute A", "Attribute B")


class PairsEditor(QWidget):
    """The prompt pairs the analysis runs on; every cell is editable."""

    sigPairsChanged = Signal()
    sigCurrentPairChanged = Signal(int)  # row index, -1 when none

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.itemChanged.connect(lambda _item: self.sigPairsChanged.emit())
        self.table.currentCellChanged.connect(lambda row, *_: self.sigCurrentPairChanged.emit(row))

        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add")
        self.remove_button = QPushButton("Remove")
        self.generate_button = QPushButton("Generate…")
        self.import_button = QPushButton("Import…")
        self.export_button = QPushButton("Export…")
        self.reset_button = QPushButton("Defaults")
        self.add_button.setToolTip("Add an empty pair to fill in")
        self.generate_button.setToolTip("Fill a template with attribute values of a category")
        self.import_button.setToolTip("Replace the pairs with those of a .csv or .json file")
        self.reset_button.setToolTip("Replace the pairs with the shipped default pairs")
        for button in (self.add_button, self.remove_button, self.generate_button, self.import_button,
                       self.export_button, self.reset_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.add_button.clicked.connect(self.add_empty_pair)
        self.remove_button.clicked.connect(self.remove_selected)
        self.generate_button.clicked.connect(self._open_generator)
        self.import_button.clicked.connect(self._ask_import)
        self.export_button.clicked.connect(self._ask_export)
        self.reset_button.clicked.connect(lambda: self.set_pairs(default_pairs()))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(buttons)

    # Reading and writing the table ------------------------------------------------------

    def set_pairs(self, pairs: list[PromptPair]) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for pair in pairs:
            self._append_row([getattr(pair, name) for name in PAIR_FIELDS])
        self.table.blockSignals(False)
        if pairs:
            self.table.setCurrentCell(0, 0)
        self.sigPairsChanged.emit()
        self.sigCurrentPairChanged.emit(self.table.currentRow())

    def add_pairs(self, pairs: list[PromptPair]) -> None:
        self.table.blockSignals(True)
        for pair in pairs:
            self._append_row([getattr(pair, name) for name in PAIR_FIELDS])
        self.table.blockSignals(False)
        self.sigPairsChanged.emit()

    def _append_row(self, values: list[str]) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        for column, value in enumerate(values):
            self.table.setItem(row, column, QTableWidgetItem(value))

    def pairs(self) -> list[PromptPair]:
        """Return the pairs in the table; raise ValueError naming the first invalid row."""
        pairs = []
        for row in range(self.table.rowCount()):
            record = {name: (self.table.item(row, column).text() if self.table.item(row, column) else "")
                      for column, name in enumerate(PAIR_FIELDS)}
            pairs.append(pair_from_record(record, f"Prompt pair table row {row + 1}"))
        return pairs

    def current_row(self) -> int:
        return self.table.currentRow()

    def pair_at(self, row: int) -> PromptPair | None:
        """Return the pair of one row, or None while that row is incomplete."""
        if not 0 <= row < self.table.rowCount():
            return None
        record = {name: (self.table.item(row, column).text() if self.table.item(row, column) else "")
                  for column, name in enumerate(PAIR_FIELDS)}
        try:
            return pair_from_record(record, f"row {row + 1}")
        except ValueError:
            return None

    # Buttons ----------------------------------------------------------------------------

    def add_empty_pair(self) -> None:
        self._append_row([""] * len(PAIR_FIELDS))
        row = self.table.rowCount() - 1
        self.table.setCurrentCell(row, 0)
        self.table.editItem(self.table.item(row, 0))
        self.sigPairsChanged.emit()

    def remove_selected(self) -> None:
        rows = sorted({index.row() for index in self.table.selectedIndexes()}, reverse=True)
        if not rows and self.table.currentRow() >= 0:
            rows = [self.table.currentRow()]
        for row in rows:
            self.table.removeRow(row)
        if rows:
            self.sigPairsChanged.emit()
            self.sigCurrentPairChanged.emit(self.table.currentRow())

    def _open_generator(self) -> None:
        dialog = GeneratorDialog(self)
        if dialog.exec() and dialog.generated:
            self.add_pairs(dialog.generated)

    def import_file(self, path: str) -> None:
        self.set_pairs(load_pairs(path))

    def export_file(self, path: str) -> None:
        save_pairs(path, self.pairs())

    def _ask_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import prompt pairs", "", "Prompt pairs (*.csv *.json)")
        if path:
            self._guarded(lambda: self.import_file(path), "Import failed")

    def _ask_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export prompt pairs", "prompt_pairs.csv",
                                              "CSV (*.csv);;JSON (*.json)")
        if path:
            self._guarded(lambda: self.export_file(path), "Export failed")

    def _guarded(self, action, title: str) -> None:
        try:
            action()
        except (OSError, ValueError) as error:
            logger.error("%s: %s", title, error)
            QMessageBox.warning(self, title, str(error))
