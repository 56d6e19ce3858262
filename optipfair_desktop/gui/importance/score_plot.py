"""Bar chart of block importance scores; unknown scores are marked, never drawn as 0."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal

from optipfair_desktop.engine.block_scores import CRITERION_LABELS, BlockScores

KNOWN_BRUSH = "#0072B2"
REMOVED_BRUSH = "#D55E00"
PROTECTED_BRUSH = "#9DB8CC"
UNKNOWN_COLOR = "#B00020"
LEGEND_HTML = (
    f'<span style="color:{KNOWN_BRUSH}">■</span> block '
    f'<span style="color:{PROTECTED_BRUSH}">■</span> protected '
    f'<span style="color:{REMOVED_BRUSH}">■</span> removed by the plan '
    f'<span style="color:{UNKNOWN_COLOR}">✕</span> unknown score'
)
SELECTED_PEN = pg.mkPen("#222222", width=2)


class BlockScorePlot(QObject):
    """Owns one PlotItem: a bar per block (or per run of blocks) and a mark per unknown score."""

    sigBlockClicked = Signal(int)

    def __init__(self, plot: pg.PlotItem, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.plot = plot
        self.scores: BlockScores | None = None
        self.bar_values: list[float] = []
        self.unknown_blocks: list[int] = []
        self._bar_starts: list[int] = []

        plot.setLabel("bottom", "block")
        plot.setLabel("left", "importance")
        plot.getAxis("left").enableAutoSIPrefix(False)
        plot.showGrid(x=False, y=True, alpha=0.25)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brushes=[])
        self.selection = pg.BarGraphItem(x=[], height=[], width=0.9, brush=None, pen=SELECTED_PEN)
        self.unknown_marks = pg.ScatterPlotItem(symbol="x", size=16, pen=pg.mkPen(UNKNOWN_COLOR, width=2), brush=None)
        # A dashed outline over the full height marks a missing value without suggesting a height.
        self.unknown_bars = pg.BarGraphItem(
            x=[], height=[], width=0.8, brush=None, pen=pg.mkPen(UNKNOWN_COLOR, width=1, style=Qt.PenStyle.DashLine)
        )
        self.unknown_labels: list[pg.TextItem] = []
        self.empty_text = pg.TextItem("Run Analyze to score the blocks", color="#666666", anchor=(0.5, 0.5))
        for item in (self.bars, self.unknown_bars, self.selection, self.unknown_marks, self.empty_text):
            plot.addItem(item)
        self.empty_text.setPos(0, 0)
        plot.scene().sigMouseClicked.connect(self._on_scene_clicked)

    def clear(self) -> None:
        self.scores = None
        self.bar_values = []
        self.unknown_blocks = []
        self._bar_starts = []
        self.bars.setOpts(x=[], height=[], brushes=[])
        self.selection.setOpts(x=[], height=[])
        self.unknown_marks.setData([], [])
        self.unknown_bars.setOpts(x=[], height=[])
        self._remove_unknown_labels()
        self.plot.setTitle("")
        self.empty_text.setVisible(True)

    def show_scores(self, scores: BlockScores, removed: set[int], protected: set[int], selected: int | None) -> None:
        """Draw ``scores``; bars of blocks in ``removed`` and ``protected`` get their own colours."""
        self.scores = scores
        self.empty_text.setVisible(False)
        finite = [value for value in scores.scores if value is not None and math.isfinite(value)]
        top = max(finite, default=1.0)
        starts, heights, brushes, unknown = [], [], [], []
        for start, value in enumerate(scores.scores):
            blocks = set(scores.blocks_of(start))
            if value is None:
                unknown.append(start)
                continue
            starts.append(start)
            # An infinite perplexity increase is drawn at 1.1 times the largest finite score.
            heights.append(value if math.isfinite(value) else top * 1.1)
            if blocks & removed:
                brushes.append(REMOVED_BRUSH)
            elif blocks & protected:
                brushes.append(PROTECTED_BRUSH)
            else:
                brushes.append(KNOWN_BRUSH)
        self._bar_starts = starts
        self.bar_values = heights
        self.unknown_blocks = unknown
        self.bars.setOpts(x=np.array(starts, dtype=float), height=np.array(heights, dtype=float), brushes=brushes)

        self._remove_unknown_labels()
        self.unknown_marks.setData(x=np.array(unknown, dtype=float), y=np.zeros(len(unknown)))
        self.unknown_bars.setOpts(x=np.array(unknown, dtype=float), height=np.full(len(unknown), max(heights, default=1.0)))
        for start in unknown:
            label = pg.TextItem("unknown", color=UNKNOWN_COLOR, anchor=(-0.3, 0.5), angle=90)
            label.setPos(start, 0)
            self.plot.addItem(label)
            self.unknown_labels.append(label)

        run = "" if scores.run_length == 1 else f", runs of {scores.run_length} blocks (bar at the first block)"
        unknown_note = f"; {len(unknown)} unknown (x)" if unknown else ""
        self.plot.setTitle(f"{CRITERION_LABELS.get(scores.criterion, scores.criterion)}{run}{unknown_note}")
        self.plot.setXRange(-1, len(scores.scores), padding=0)
        low = min(0.0, min(heights, default=0.0))
        self.plot.setYRange(low, max(max(heights, default=1.0), 1e-9) * 1.05, padding=0.02)
        self.set_selected(selected)

    def set_selected(self, block_idx: int | None) -> None:
        if self.scores is None or block_idx is None or block_idx not in self._bar_starts:
            self.selection.setOpts(x=[], height=[])
            return
        height = self.bar_values[self._bar_starts.index(block_idx)]
        self.selection.setOpts(x=[float(block_idx)], height=[height])

    def _remove_unknown_labels(self) -> None:
        for label in self.unknown_labels:
            self.plot.removeItem(label)
        self.unknown_labels = []

    def _on_scene_clicked(self, event) -> None:
        if self.scores is None or event.button() != Qt.MouseButton.LeftButton:
            return
        view = self.plot.getViewBox()
        if not view.sceneBoundingRect().contains(event.scenePos()):
            return
        self.click_at(view.mapSceneToView(event.scenePos()).x())

    def click_at(self, x: float) -> None:
        """Select the block whose bar is nearest to data coordinate ``x``."""
        if self.scores is None:
            return
        block_idx = int(round(x))
        if 0 <= block_idx < len(self.scores.scores):
            self.sigBlockClicked.emit(block_idx)
