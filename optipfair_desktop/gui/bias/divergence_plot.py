"""Mean absolute difference per block, one curve per component, with the noise floor dashed."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QVBoxLayout, QWidget

from optipfair_desktop.engine.bias.analysis import BiasAnalysis
from optipfair_desktop.engine.bias.capture import COMPONENTS
from optipfair_desktop.gui.bias.export import ExportBar
from optipfair_desktop.gui.bias.plot_style import COMPONENT_COLORS, SELECTED_BLOCK_PEN, connect_block_clicks, make_plot_widget


class DivergencePlot(QWidget):
    """Plot of the mean |A - B| of each component, block by block, beside the noise floor."""

    sigBlockClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.analysis: BiasAnalysis | None = None
        self.plot_widget = make_plot_widget()
        self.plot_item = self.plot_widget.getPlotItem()
        self.plot_item.setLabel("bottom", "block")
        self.plot_item.setLabel("left", "mean |A − B|")
        legend = self.plot_item.addLegend(offset=(10, 10), labelTextColor="k")
        legend.setBrush(pg.mkBrush(255, 255, 255, 200))

        self.curves: dict[str, pg.PlotDataItem] = {}
        self.noise_curves: dict[str, pg.PlotDataItem] = {}
        for component in COMPONENTS:
            color = COMPONENT_COLORS[component]
            self.curves[component] = self.plot_item.plot(
                [], [], pen=pg.mkPen(color, width=2), symbol="o", symbolSize=5,
                symbolBrush=color, symbolPen=color, name=component,
            )
        for component in COMPONENTS:
            # Only the first noise curve gets a legend entry; all are dashed in their component's colour.
            self.noise_curves[component] = self.plot_item.plot(
                [], [], pen=pg.mkPen(COMPONENT_COLORS[component], width=1, style=Qt.PenStyle.DashLine),
                name="noise floor (dashed)" if component == COMPONENTS[0] else None,
            )
        self.block_line = pg.InfiniteLine(angle=90, movable=False, pen=SELECTED_BLOCK_PEN)
        self.block_line.setVisible(False)
        self.plot_item.addItem(self.block_line, ignoreBounds=True)
        connect_block_clicks(self.plot_item, self._block_positions, self.sigBlockClicked.emit)

        self.log_check = QCheckBox("log scale")
        self.log_check.toggled.connect(lambda on: self.plot_item.setLogMode(y=on))
        controls = QHBoxLayout()
        controls.addWidget(self.log_check)
        controls.addWidget(ExportBar("bias_divergence", plot_item=lambda: self.plot_item), 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.plot_widget, 1)
        layout.addLayout(controls)
        self.clear()

    def _block_positions(self) -> list[tuple[float, int]]:
        return [] if self.analysis is None else [(float(b), b) for b in self.analysis.block_indices]

    def clear(self) -> None:
        self.analysis = None
        for curve in (*self.curves.values(), *self.noise_curves.values()):
            curve.setData([], [])
        self.plot_item.setTitle("Mean |A − B| per block (run an analysis)", color="k")

    def set_analysis(self, analysis: BiasAnalysis, pair_index: int | None, pair_text: str) -> None:
        """Show the curves of one pair, or their mean over all pairs when ``pair_index`` is None."""
        self.analysis = analysis
        x = np.array(analysis.block_indices, dtype=float)
        for component in COMPONENTS:
            if component not in analysis.components:
                self.curves[component].setData([], [])
                self.noise_curves[component].setData([], [])
                continue
            self.curves[component].setData(x, analysis.block_stat(component, "mean", pair_index))
            noise = analysis.noise_level(component)
            self.noise_curves[component].setData(x, noise if noise is not None else [])
        self.plot_item.setTitle(f"Mean |A − B| per block — {analysis.mode} comparison, {pair_text}", color="k")

    def set_block(self, block_idx: int) -> None:
        self.block_line.setPos(block_idx)
        self.block_line.setVisible(True)
