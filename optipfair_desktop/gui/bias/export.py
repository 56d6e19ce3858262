"""Export plots as PNG or SVG and tables as CSV, with a small button bar for each."""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters
from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QFileDialog, QGraphicsScene, QHBoxLayout, QMessageBox, QPushButton, QTableWidget, QWidget

logger = logging.getLogger(__name__)


def export_plot(item: pg.GraphicsItem | pg.GraphicsScene, path: Path | str) -> Path:
    """Write a plot item, layout or scene to ``path``; the suffix (.png or .svg) picks the format."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".png":
        exporter = pyqtgraph.exporters.ImageExporter(item)
        # The default size is the on-screen size; keep at least 1200 px wide for reports.
        width = exporter.parameters()["width"]
        if width < 1200:
            exporter.parameters()["width"] = 1200
        exporter.export(str(path))
    elif suffix == ".svg":
        _export_svg(item, path)
    else:
        raise ValueError(f"Cannot export a plot as {path.name!r}; use a .png or .svg file name.")
    logger.info("Exported plot to %s", path)
    return path


def _export_svg(item: pg.GraphicsItem | QGraphicsScene, path: Path) -> None:
    """Paint the item's part of its scene into an SVG file with Qt's own SVG generator.

    NOTE: pyqtgraph 0.14.0's SVGExporter is not used because its path parser raises ValueError
    on the closed-path command "Z", which Qt's SVG generator writes (seen with PySide6 6.12).
    """
    scene = item if isinstance(item, QGraphicsScene) else item.scene()
    source = scene.sceneRect() if item is scene else item.sceneBoundingRect()
    target = QRectF(0, 0, source.width(), source.height())
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(target.size().toSize())
    generator.setViewBox(target)
    generator.setTitle(path.stem)
    painter = QPainter(generator)
    try:
        scene.render(painter, target, source)
    finally:
        painter.end()


def export_table_csv(table: QTableWidget, path: Path | str, extra_columns: dict[str, str] | None = None) -> Path:
    """Write the table's header and cells as CSV; ``extra_columns`` adds constant columns (e.g. the mode)."""
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise ValueError(f"Cannot export a table as {path.name!r}; use a .csv file name.")
    extra = extra_columns or {}
    headers = [table.horizontalHeaderItem(c).text() if table.horizontalHeaderItem(c) else f"column {c}"
               for c in range(table.columnCount())]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers + list(extra))
        for row in range(table.rowCount()):
            cells = [table.item(row, c).text() if table.item(row, c) else "" for c in range(table.columnCount())]
            writer.writerow(cells + list(extra.values()))
    logger.info("Exported table to %s", path)
    return path


class ExportBar(QWidget):
    """Buttons that ask for a file name and export; each format is offered only when given."""

    def __init__(
        self,
        name: str,
        plot_item: Callable[[], object] | None = None,
        table: Callable[[], tuple[QTableWidget, dict[str, str]]] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._name = name
        self._plot_item = plot_item
        self._table = table
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addStretch(1)
        if plot_item is not None:
            for suffix in ("png", "svg"):
                button = QPushButton(f"Export {suffix.upper()}…")
                button.clicked.connect(lambda _=False, s=suffix: self._ask_and_export_plot(s))
                layout.addWidget(button)
        if table is not None:
            button = QPushButton("Export CSV…")
            button.clicked.connect(self._ask_and_export_table)
            layout.addWidget(button)

    def _ask_path(self, suffix: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self, f"Export {self._name}", f"{self._name}.{suffix}",
                                              f"{suffix.upper()} files (*.{suffix})")
        if path and not path.lower().endswith(f".{suffix}"):
            path += f".{suffix}"
        return path

    def _ask_and_export_plot(self, suffix: str) -> None:
        path = self._ask_path(suffix)
        if path:
            self._run(lambda: export_plot(self._plot_item(), path))

    def _ask_and_export_table(self) -> None:
        path = self._ask_path("csv")
        if path:
            table, extra = self._table()
            self._run(lambda: export_table_csv(table, path, extra))

    def _run(self, action: Callable[[], object]) -> None:
        try:
            action()
        except (OSError, ValueError) as error:
            logger.error("Export of %s failed: %s", self._name, error)
            QMessageBox.warning(self, "Export failed", str(error))
