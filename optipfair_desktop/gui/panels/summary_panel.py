"""Original against planned: blocks, parameters and size on disk, updated on every plan edit."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QGridLayout, QLabel, QWidget

from optipfair_desktop.engine.plan import DTYPES
from optipfair_desktop.gui.session import Session


def _millions(count: int) -> str:
    return f"{count / 1e6:,.2f} M"


def _megabytes(count: int) -> str:
    return f"{count / 1e6:,.1f} MB"


class SummaryPanel(QWidget):
    ROWS = ("blocks", "parameters", "size")

    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.cells: dict[tuple[str, str], QLabel] = {}

        grid = QGridLayout(self)
        grid.addWidget(self.title, 0, 0, 1, 4)
        for column, header in enumerate(("", "original", "planned", "change"), start=0):
            grid.addWidget(QLabel(f"<b>{header}</b>"), 1, column)
        for row, name in enumerate(self.ROWS, start=2):
            grid.addWidget(QLabel(name), row, 0)
            for column, kind in enumerate(("original", "planned", "change"), start=1):
                label = QLabel("-")
                label.setObjectName(f"{name}_{kind}")
                grid.addWidget(label, row, column)
                self.cells[(name, kind)] = label

        self.dtype = QComboBox()
        self.dtype.addItem("keep source dtype", None)
        for name in DTYPES:
            self.dtype.addItem(name, name)
        self.dtype.setToolTip("Weight dtype of the pruned model and its checkpoint")
        grid.addWidget(QLabel("checkpoint dtype"), len(self.ROWS) + 2, 0)
        grid.addWidget(self.dtype, len(self.ROWS) + 2, 1, 1, 3)

        self.note = QLabel()
        self.note.setWordWrap(True)
        grid.addWidget(self.note, len(self.ROWS) + 3, 0, 1, 4)

        self.dtype.currentIndexChanged.connect(self._on_dtype_edit)
        session.sigModelOpened.connect(self._on_plan_change)
        session.sigPlanChanged.connect(self._on_plan_change)
        self._on_plan_change()

    def value(self, name: str, kind: str) -> str:
        return self.cells[(name, kind)].text()

    def _on_dtype_edit(self) -> None:
        dtype = self.dtype.currentData()
        if self.session.structure is not None and dtype != self.session.plan.dtype:
            self.session.set_plan(self.session.plan.replace(dtype=dtype))

    def _on_plan_change(self) -> None:
        session = self.session
        structure = session.structure
        self.dtype.blockSignals(True)
        self.dtype.setCurrentIndex(self.dtype.findData(session.plan.dtype) if session.plan.dtype else 0)
        self.dtype.blockSignals(False)

        if structure is None:
            self.title.setText("No model open")
            return
        self.title.setText(f"<b>{session.source.name}</b> ({structure.architecture}, {structure.dtype})")

        summary = session.summary
        original = {
            "blocks": str(structure.num_blocks),
            "parameters": _millions(structure.total_params),
            "size": _megabytes(structure.size_bytes),
        }
        for name, text in original.items():
            self.cells[(name, "original")].setText(text)

        if summary is None:
            for name in self.ROWS:
                self.cells[(name, "planned")].setText("-")
                self.cells[(name, "change")].setText("-")
            self.note.setText(f"<span style='color:#b00020'>Plan not valid: {session.plan_error}</span>")
            return

        planned = {
            "blocks": str(summary.planned_blocks),
            "parameters": _millions(summary.planned_params),
            "size": _megabytes(summary.planned_bytes),
        }
        changes = {
            "blocks": f"{summary.planned_blocks - summary.original_blocks:+d}",
            "parameters": f"{100 * (summary.planned_params / summary.original_params - 1):+.1f}%",
            "size": f"{100 * (summary.planned_bytes / summary.original_bytes - 1):+.1f}%",
        }
        for name in self.ROWS:
            self.cells[(name, "planned")].setText(planned[name])
            self.cells[(name, "change")].setText(changes[name])

        dtype = session.plan.dtype or structure.dtype
        note = f"Size on disk at the checkpoint's dtype ({dtype}, {summary.planned_bytes_per_param} bytes per parameter)."
        if summary.padding_params:
            note += f" Includes {_millions(summary.padding_params)} zero padding parameters."
        self.note.setText(note)
