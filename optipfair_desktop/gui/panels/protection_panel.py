"""Counts of protected first and last blocks; removing a protected block needs confirmation."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QWidget

from optipfair_desktop.gui.session import Session


class ProtectionPanel(QWidget):
    sigProtectionEdited = Signal(int, int)

    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.first = QSpinBox()
        self.last = QSpinBox()
        for box in (self.first, self.last):
            box.setRange(0, 64)
            box.setToolTip("Removing a protected block asks for confirmation first")
        self.first.setValue(session.protected_first)
        self.last.setValue(session.protected_last)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Protect the first"))
        layout.addWidget(self.first)
        layout.addWidget(QLabel("and last"))
        layout.addWidget(self.last)
        layout.addWidget(QLabel("blocks"))
        layout.addStretch(1)
        self.first.valueChanged.connect(self._on_edit)
        self.last.valueChanged.connect(self._on_edit)

    def _on_edit(self) -> None:
        self.session.set_protection(self.first.value(), self.last.value())
        self.sigProtectionEdited.emit(self.first.value(), self.last.value())
