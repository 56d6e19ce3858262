"""PCA of both prompts' token activations in the selected block, with arrows from A's rows to B's."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from optipfair_desktop.engine.bias.analysis import BiasAnalysis
from optipfair_desktop.engine.bias.pca import PcaView, project_pair
from optipfair_desktop.gui.bias.export import ExportBar
from optipfair_desktop.gui.bias.plot_style import PROMPT_A_COLOR, PROMPT_B_COLOR, make_component_combo, make_plot_widget

ARROW_COLOR = "#555555"


class PcaPlot(QWidget):
    """Token activations of prompt A (circles) and B (triangles); arrows join the compared rows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.analysis: BiasAnalysis | None = None
        self.pair_index = 0
        self.block_idx = 0
        self.view: PcaView | None = None

        self.component_combo = make_component_combo(self._refresh)

        self.plot_widget = make_plot_widget()
        self.plot_item = self.plot_widget.getPlotItem()
        legend = self.plot_item.addLegend(offset=(10, 10), labelTextColor="k")
        legend.setBrush(pg.mkBrush(255, 255, 255, 200))
        self.points_a = pg.ScatterPlotItem(size=9, brush=pg.mkBrush(PROMPT_A_COLOR), pen=None, symbol="o", name="prompt A")
        self.points_b = pg.ScatterPlotItem(size=10, brush=pg.mkBrush(PROMPT_B_COLOR), pen=None, symbol="t", name="prompt B")
        self.segments = pg.PlotDataItem([], [], pen=pg.mkPen(ARROW_COLOR, width=1), connect="pairs")
        for item in (self.segments, self.points_a, self.points_b):
            self.plot_item.addItem(item)
        self.arrow_heads: list[pg.ArrowItem] = []
        self.labels: list[pg.TextItem] = []
        # Arrow heads are drawn in pixels, so their angle follows the view's aspect ratio.
        self.plot_item.getViewBox().sigTransformChanged.connect(lambda *_: self._orient_arrow_heads())

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Component"))
        controls.addWidget(self.component_combo)
        controls.addWidget(ExportBar("bias_pca", plot_item=lambda: self.plot_item), 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.plot_widget, 1)
        layout.addLayout(controls)
        self.clear()

    @property
    def component(self) -> str:
        return self.component_combo.currentText()

    def clear(self) -> None:
        self.analysis = None
        self.view = None
        self.points_a.setData([])
        self.points_b.setData([])
        self.segments.setData([], [])
        self._show_arrows(0)
        self.plot_item.setTitle("PCA of token activations (run an analysis)", color="k")

    def set_analysis(self, analysis: BiasAnalysis, pair_index: int) -> None:
        self.analysis = analysis
        self.pair_index = pair_index
        self._refresh()

    def set_block(self, block_idx: int) -> None:
        self.block_idx = block_idx
        self._refresh()

    def _refresh(self) -> None:
        if self.analysis is None or self.component not in self.analysis.components:
            return
        result = self.analysis.pairs[self.pair_index]
        if result.activations_a is None:
            self.plot_item.setTitle("PCA needs the activations; rerun the analysis from this panel", color="k")
            return
        if self.block_idx not in self.analysis.block_indices:
            self.block_idx = self.analysis.block_indices[0]
        position = self.analysis.block_indices.index(self.block_idx)
        view = project_pair(result.activations_a[self.component][position], result.activations_b[self.component][position],
                            result.alignment, result.mode)
        self.view = view

        self.points_a.setData(pos=view.points_a, data=result.alignment.tokens_a)
        self.points_b.setData(pos=view.points_b, data=result.alignment.tokens_b)
        xs, ys = [], []
        for start, end in zip(view.arrow_starts, view.arrow_ends):
            xs += [start[0], end[0]]
            ys += [start[1], end[1]]
        self.segments.setData(xs, ys)

        self._show_arrows(len(view.arrow_starts))
        for index, (start, end, label) in enumerate(zip(view.arrow_starts, view.arrow_ends, view.arrow_labels)):
            self.arrow_heads[index].setPos(float(end[0]), float(end[1]))
            self.labels[index].setText(label)
            self.labels[index].setPos(float(start[0] + end[0]) / 2, float(start[1] + end[1]) / 2)
        self._orient_arrow_heads()

        first, second = view.explained_variance_ratio
        self.plot_item.setLabel("bottom", f"PC1 ({first:.1%} of variance)")
        self.plot_item.setLabel("left", f"PC2 ({second:.1%} of variance)")
        self.plot_item.setTitle(
            f"{self.component}, block {self.block_idx}: arrows join compared rows — {view.mode} comparison, "
            f"pair {self.pair_index + 1}", color="k",
        )

    def _show_arrows(self, count: int) -> None:
        """Create arrow heads and labels on demand and hide those beyond ``count``."""
        while len(self.arrow_heads) < count:
            head = pg.ArrowItem(headLen=10, tipAngle=30, brush=ARROW_COLOR, pen=None)
            label = pg.TextItem(color="#333333", anchor=(0.5, 1.0))
            self.plot_item.addItem(head, ignoreBounds=True)
            self.plot_item.addItem(label, ignoreBounds=True)
            self.arrow_heads.append(head)
            self.labels.append(label)
        for index, (head, label) in enumerate(zip(self.arrow_heads, self.labels)):
            head.setVisible(index < count)
            label.setVisible(index < count)

    def _orient_arrow_heads(self) -> None:
        if self.view is None:
            return
        box = self.plot_item.getViewBox()
        for head, start, end in zip(self.arrow_heads, self.view.arrow_starts, self.view.arrow_ends):
            p1 = box.mapViewToScene(QPointF(float(start[0]), float(start[1])))
            p2 = box.mapViewToScene(QPointF(float(end[0]), float(end[1])))
            # ArrowItem points left at angle 0; scene y grows downward.
            head.setStyle(angle=180 + math.degrees(math.atan2(p2.y() - p1.y(), p2.x() - p1.x())))
