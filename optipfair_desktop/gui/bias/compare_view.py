"""Before vs after: the original and the pruned model's divergence per block, and their difference."""

from __future__ import annotations

import logging

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from optipfair_desktop.engine.bias.analysis import BiasAnalysis
from optipfair_desktop.engine.bias.compare import BiasComparison
from optipfair_desktop.gui.bias import jobs
from optipfair_desktop.gui.bias.export import ExportBar
from optipfair_desktop.gui.bias.plot_style import SELECTED_BLOCK_PEN, connect_block_clicks, make_component_combo

logger = logging.getLogger(__name__)

WORSE_BRUSH = pg.mkBrush("#D55E00")
BETTER_BRUSH = pg.mkBrush("#009E73")


class CompareView(QWidget):
    """Runs the analysed pairs on the planned model or a saved checkpoint and plots both."""

    sigBlockClicked = Signal(int)

    def __init__(self, session, runner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = runner
        self.analysis: BiasAnalysis | None = None
        self.comparison: BiasComparison | None = None
        self.pair_index: int | None = None
        self.pair_text = "all pairs"

        self.planned_button = QPushButton("Compare with the planned model")
        self.planned_button.clicked.connect(self.compare_with_planned)
        self.checkpoint_button = QPushButton("Compare with a checkpoint…")
        self.checkpoint_button.clicked.connect(self._ask_checkpoint)
        self.component_combo = make_component_combo(self._refresh)
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)

        self.layout_widget = pg.GraphicsLayoutWidget()
        self.layout_widget.setBackground("w")
        self.top = self.layout_widget.addPlot(row=0, col=0)
        self.bottom = self.layout_widget.addPlot(row=1, col=0)
        self.bottom.setXLink(self.top)
        for item in (self.top, self.bottom):
            item.showGrid(x=True, y=True, alpha=0.2)
            for axis in ("left", "bottom"):
                item.getAxis(axis).setPen("k")
                item.getAxis(axis).setTextPen("k")
        self.top.setLabel("left", "mean |A − B|")
        self.bottom.setLabel("left", "pruned − original")
        self.bottom.setLabel("bottom", "original block")
        legend = self.top.addLegend(offset=(10, 10), labelTextColor="k")
        legend.setBrush(pg.mkBrush(255, 255, 255, 200))
        self.original_curve = self.top.plot([], [], pen=pg.mkPen("#444444", width=2), symbol="o", symbolSize=5,
                                            symbolBrush="#444444", symbolPen=None, name="original")
        self.pruned_curve = self.top.plot([], [], pen=pg.mkPen("#0072B2", width=2, style=Qt.PenStyle.DashLine),
                                          symbol="s", symbolSize=5, symbolBrush="#0072B2", symbolPen=None, name="pruned")
        self.noise_curve = self.top.plot([], [], pen=pg.mkPen("#999999", width=1, style=Qt.PenStyle.DotLine),
                                         name="noise floor")
        self.removed_points = pg.ScatterPlotItem(symbol="x", size=10, pen=pg.mkPen("#CC0000", width=2), name="removed block")
        self.top.addItem(self.removed_points)
        self.difference_bars = pg.BarGraphItem(x=[], height=[], width=0.7)
        self.bottom.addItem(self.difference_bars)
        self.bottom.addItem(pg.InfiniteLine(angle=0, pos=0, pen=pg.mkPen("k", width=1)))
        self.noise_band = self.bottom.plot([], [], pen=pg.mkPen("#999999", width=1, style=Qt.PenStyle.DotLine))
        self.block_lines = [pg.InfiniteLine(angle=90, movable=False, pen=SELECTED_BLOCK_PEN) for _ in range(2)]
        for plot, line in zip((self.top, self.bottom), self.block_lines):
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=True)
            connect_block_clicks(plot, self._block_positions, self.sigBlockClicked.emit)

        controls = QHBoxLayout()
        controls.addWidget(self.planned_button)
        controls.addWidget(self.checkpoint_button)
        controls.addWidget(QLabel("Component"))
        controls.addWidget(self.component_combo)
        controls.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.layout_widget, 1)
        layout.addWidget(self.summary_label)
        layout.addWidget(ExportBar("bias_before_after", plot_item=lambda: self.layout_widget.scene()))
        self.clear()

    def _block_positions(self) -> list[tuple[float, int]]:
        return [] if self.analysis is None else [(float(b), b) for b in self.analysis.block_indices]

    @property
    def component(self) -> str:
        return self.component_combo.currentText()

    def clear(self) -> None:
        self.analysis = None
        self.comparison = None
        self._clear_curves()
        self.top.setTitle("Before vs after pruning (run an analysis, then compare)", color="k")
        self.summary_label.setText("")
        self.set_busy(False)

    def _clear_curves(self) -> None:
        for curve in (self.original_curve, self.pruned_curve, self.noise_curve, self.noise_band):
            curve.setData([], [])
        self.removed_points.setData([])
        self.difference_bars.setOpts(x=[], height=[])

    def set_analysis(self, analysis: BiasAnalysis, pair_index: int | None = None, pair_text: str = "all pairs") -> None:
        if analysis is not self.analysis:
            self.comparison = None
        self.analysis = analysis
        self.pair_index = pair_index
        self.pair_text = pair_text
        self._refresh()
        self.set_busy(False)

    def set_busy(self, busy: bool) -> None:
        ready = self.analysis is not None and not busy
        self.planned_button.setEnabled(ready)
        self.checkpoint_button.setEnabled(ready)

    def set_block(self, block_idx: int) -> None:
        for line in self.block_lines:
            line.setPos(block_idx)
            line.setVisible(True)

    def compare_with_planned(self) -> None:
        if self.analysis is not None:
            self.runner.start("Bias of the planned model", jobs.compare_planned_job, self.session, self.analysis,
                              on_finished=self._on_comparison)

    def compare_with_checkpoint(self, folder: str) -> None:
        if self.analysis is not None:
            self.runner.start("Bias of a checkpoint", jobs.compare_checkpoint_job, self.session, self.analysis, folder,
                              on_finished=self._on_comparison)

    def _ask_checkpoint(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a pruned checkpoint folder")
        if folder:
            self.compare_with_checkpoint(folder)

    def _on_comparison(self, comparison: BiasComparison) -> None:
        if comparison.original is not self.analysis:
            logger.info("Dropped a comparison made for an earlier analysis")
            return
        self.comparison = comparison
        self._refresh()
        self.set_busy(False)

    def _refresh(self) -> None:
        self._clear_curves()
        if self.analysis is None or self.component not in self.analysis.components:
            return
        x = np.array(self.analysis.block_indices, dtype=float)
        original = self.analysis.block_stat(self.component, "mean", self.pair_index)
        self.original_curve.setData(x, original)
        noise = self.analysis.noise_level(self.component)
        if noise is not None:
            self.noise_curve.setData(x, noise)
        if self.comparison is None:
            self.top.setTitle(f"{self.component}: original only — {self.analysis.mode} comparison, {self.pair_text}",
                              color="k")
            self.summary_label.setText("Compare with the planned model or a saved checkpoint to see the change.")
            return

        _, pruned, difference = self.comparison.curves(self.component, "mean", self.pair_index)
        kept = ~np.isnan(pruned)
        # connect="finite" leaves a gap at removed blocks instead of bridging them.
        self.pruned_curve.setData(x, pruned, connect="finite")
        self.removed_points.setData(x=x[~kept], y=original[~kept])
        threshold = np.zeros_like(difference) if noise is None else noise
        brushes = [WORSE_BRUSH if d > t else BETTER_BRUSH for d, t in zip(difference[kept], threshold[kept])]
        self.difference_bars.setOpts(x=x[kept], height=difference[kept], width=0.7, brushes=brushes, pens=[None] * len(brushes))
        if noise is not None:
            self.noise_band.setData(x, noise)
        self.top.setTitle(
            f"{self.component}: original vs {self.comparison.label} — {self.analysis.mode} comparison, {self.pair_text}",
            color="k",
        )
        worse = self.comparison.worse_blocks(self.component, self.pair_index)
        removed = self.comparison.removed_blocks
        self.summary_label.setText(
            f"Removed blocks: {', '.join(map(str, removed)) or 'none'}. "
            f"Blocks where pruning increased the divergence beyond the noise floor (orange bars): "
            f"{', '.join(map(str, worse)) or 'none'}."
        )

