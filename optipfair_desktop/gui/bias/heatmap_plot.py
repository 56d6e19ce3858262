"""Token x block heatmap of one pair: mean |A - B| of a component at each compared row and block."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from optipfair_desktop.engine.bias.analysis import BiasAnalysis
from optipfair_desktop.gui.bias.export import ExportBar
from optipfair_desktop.gui.bias.plot_style import SELECTED_BLOCK_PEN, connect_block_clicks, make_component_combo, make_plot_widget

# Tick labels longer than this are cut, so a long token span does not squeeze the image.
MAX_LABEL_CHARS = 24


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"


class HeatmapPlot(QWidget):
    """Rows are the compared tokens of the pair (aligned labels), columns the blocks."""

    sigBlockClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.analysis: BiasAnalysis | None = None
        self.pair_index = 0
        self.image_data: np.ndarray | None = None  # [blocks, rows], as shown

        self.component_combo = make_component_combo(self._refresh)

        self.plot_widget = make_plot_widget()
        self.plot_item = self.plot_widget.getPlotItem()
        self.plot_item.setLabel("bottom", "block")
        self.plot_item.invertY(True)
        self.image = pg.ImageItem()
        self.plot_item.addItem(self.image)
        self.color_bar = pg.ColorBarItem(values=(0, 1), colorMap=pg.colormap.get("viridis"), label="mean |A − B|",
                                         interactive=False)
        self.color_bar.setImageItem(self.image, insert_in=self.plot_item)
        self.block_line = pg.InfiniteLine(angle=90, movable=False, pen=SELECTED_BLOCK_PEN)
        self.block_line.setVisible(False)
        self.plot_item.addItem(self.block_line, ignoreBounds=True)
        connect_block_clicks(self.plot_item, self._block_positions, self.sigBlockClicked.emit)

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Component"))
        controls.addWidget(self.component_combo)
        controls.addWidget(ExportBar("bias_heatmap", plot_item=lambda: self.plot_widget.scene()), 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.plot_widget, 1)
        layout.addLayout(controls)
        self.clear()

    def _block_positions(self) -> list[tuple[float, int]]:
        # Columns sit at x = 0, 1, 2, ... whatever the block numbering.
        return [] if self.analysis is None else [(float(i), b) for i, b in enumerate(self.analysis.block_indices)]

    @property
    def component(self) -> str:
        return self.component_combo.currentText()

    def clear(self) -> None:
        self.analysis = None
        self.image_data = None
        self.image.clear()
        self.plot_item.getAxis("left").setTicks(None)
        self.plot_item.setTitle("Token × block heatmap (run an analysis)", color="k")

    def set_analysis(self, analysis: BiasAnalysis, pair_index: int) -> None:
        self.analysis = analysis
        self.pair_index = pair_index
        self._refresh()

    def _refresh(self) -> None:
        if self.analysis is None or self.component not in self.analysis.components:
            return
        result = self.analysis.pairs[self.pair_index]
        data = result.differences[self.component].row_means  # [blocks, rows]
        self.image_data = data
        blocks, rows = data.shape
        # ImageItem's default axis order is [x, y], so [blocks, rows] puts blocks on x.
        self.image.setImage(data, autoLevels=False)
        self.image.setRect(QRectF(-0.5, 0, blocks, rows))
        high = float(data.max()) if data.size and data.max() > 0 else 1.0
        self.color_bar.setLevels((0.0, high))
        self.plot_item.getAxis("left").setTicks([[(row + 0.5, _short(label)) for row, label in enumerate(result.row_labels)]])
        if self.analysis.block_indices != list(range(blocks)):
            self.plot_item.getAxis("bottom").setTicks([[(i, str(b)) for i, b in enumerate(self.analysis.block_indices)]])
        self.plot_item.setRange(xRange=(-0.5, blocks - 0.5), yRange=(0, rows), padding=0)
        self.plot_item.setTitle(
            f"{self.component}: mean |A − B| per token and block — {result.mode} comparison, pair {self.pair_index + 1}",
            color="k",
        )

    def set_block(self, block_idx: int) -> None:
        if self.analysis is None or block_idx not in self.analysis.block_indices:
            self.block_line.setVisible(False)
            return
        self.block_line.setPos(self.analysis.block_indices.index(block_idx))
        self.block_line.setVisible(True)
