"""Choice of the models a benchmark compares: the original, the planned model, saved checkpoints."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
)


class ModelChoiceBox(QGroupBox):
    """Check boxes for the original and planned models and a list of checkpoint folders."""

    sigChanged = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__("Models (the first checked is the baseline)", parent)
        self.original_check = QCheckBox("Original (open model)")
        self.original_check.setChecked(True)
        self.planned_check = QCheckBox("Planned (current plan, built in memory)")
        self.planned_check.setChecked(True)
        self.folder_list = QListWidget()
        self.folder_list.setMaximumHeight(90)
        self.folder_list.setToolTip("Saved checkpoint folders; uncheck one to leave it out")
        self.add_button = QPushButton("Add checkpoint folder...")
        self.remove_button = QPushButton("Remove")

        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.original_check)
        layout.addWidget(self.planned_check)
        layout.addWidget(self.folder_list)
        layout.addLayout(buttons)
        layout.addStretch(1)

        self.add_button.clicked.connect(self._ask_folder)
        self.remove_button.clicked.connect(self._remove_selected)
        self.original_check.toggled.connect(self.sigChanged)
        self.planned_check.toggled.connect(self.sigChanged)
        self.folder_list.itemChanged.connect(lambda _: self.sigChanged.emit())

    def set_available(self, original: bool, planned: bool, planned_text: str) -> None:
        """Enable the session's models when they exist; ``planned_text`` describes the plan."""
        self.original_check.setEnabled(original)
        self.planned_check.setEnabled(planned)
        # A long plan description would widen the panel past the dock; the tooltip keeps it whole.
        text = f"Planned: {planned_text}"
        self.planned_check.setToolTip(text)
        self.planned_check.setText(text if len(text) <= 48 else text[:47] + "\u2026")

    def add_folder(self, folder: str | Path) -> None:
        folder = str(Path(folder))
        if folder in self.folders(checked_only=False):
            return
        item = QListWidgetItem(folder)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked)
        self.folder_list.addItem(item)
        self.sigChanged.emit()

    def folders(self, checked_only: bool = True) -> list[str]:
        items = [self.folder_list.item(row) for row in range(self.folder_list.count())]
        return [
            item.text() for item in items
            if not checked_only or item.checkState() == Qt.CheckState.Checked
        ]

    def use_original(self) -> bool:
        return self.original_check.isEnabled() and self.original_check.isChecked()

    def use_planned(self) -> bool:
        return self.planned_check.isEnabled() and self.planned_check.isChecked()

    def _ask_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a saved checkpoint folder")
        if folder:
            self.add_folder(folder)

    def _remove_selected(self) -> None:
        for item in self.folder_list.selectedItems():
            self.folder_list.takeItem(self.folder_list.row(item))
        self.sigChanged.emit()
