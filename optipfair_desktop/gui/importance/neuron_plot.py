"""Sorted neuron-pair scores of one block, with the plan's cut marked."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject

CURVE_PEN = pg.mkPen("#0072B2", width=2)
CUT_PEN = pg.mkPen("#D55E00", width=2)
PRUNED_BRUSH = pg.mkBrush(213, 94, 0, 40)


class NeuronScorePlot(QObject):
    """Owns one PlotItem: keep scores sorted from high to low, the kept width as a line."""

    def __init__(self, plot: pg.PlotItem, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.plot = plot
        self.sorted_scores: np.ndarray | None = None
        self.kept_width: int | None = None

        plot.setLabel("bottom", "neuron pairs, most important first")
        plot.setLabel("left", "score")
        plot.getAxis("left").enableAutoSIPrefix(False)
        plot.showGrid(x=False, y=True, alpha=0.25)
        plot.hideButtons()
        self.curve = plot.plot([], [], pen=CURVE_PEN)
        self.pruned_region = pg.LinearRegionItem(values=(0, 0), movable=False, brush=PRUNED_BRUSH, pen=pg.mkPen(None))
        self.cut_line = pg.InfiniteLine(angle=90, movable=False, pen=CUT_PEN)
        self.message = pg.TextItem("", color="#666666", anchor=(0.5, 0.5))
        for item in (self.pruned_region, self.cut_line, self.message):
            plot.addItem(item)
        self.show_message("Select a block to see its neuron-pair scores")

    def show_message(self, text: str) -> None:
        self.sorted_scores = None
        self.kept_width = None
        self.curve.setData([], [])
        self.pruned_region.setVisible(False)
        self.cut_line.setVisible(False)
        self.plot.setTitle("")
        self.message.setText(text)
        self.message.setPos(0.5, 0.5)
        self.plot.setXRange(0, 1, padding=0)
        self.plot.setYRange(0, 1, padding=0)
        self.message.setVisible(True)

    def show_scores(self, block_idx: int, method_label: str, sorted_scores: np.ndarray, kept_width: int | None,
                    removed: bool) -> None:
        """Plot ``sorted_scores`` (high to low); mark the neuron pairs past ``kept_width`` as pruned."""
        self.message.setVisible(False)
        self.sorted_scores = sorted_scores
        width = len(sorted_scores)
        self.curve.setData(np.arange(width, dtype=float), sorted_scores.astype(float))
        self.plot.enableAutoRange()

        if removed:
            title = f"Block {block_idx}: {method_label} ({width} neuron pairs); the plan removes this block"
            kept_width = None
        elif kept_width is None or kept_width >= width:
            title = f"Block {block_idx}: {method_label}; the plan keeps all {width} neuron pairs"
            kept_width = None
        else:
            title = f"Block {block_idx}: {method_label}; the plan keeps {kept_width} of {width} neuron pairs"
        self.plot.setTitle(title)
        self.kept_width = kept_width  # None when nothing of this block is cut
        self.cut_line.setVisible(kept_width is not None)
        self.pruned_region.setVisible(kept_width is not None)
        if kept_width is not None:
            self.cut_line.setValue(kept_width - 0.5)
            self.pruned_region.setRegion((kept_width - 0.5, width - 0.5))
