"""Bar charts of one benchmark (prefill, decode, memory) with IQR error bars."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QWidget

from optipfair_desktop.engine.bench import BenchRecord

MIB = 1024 * 1024
# Okabe-Ito colours, safe for colour-blind readers.
BASELINE_COLOR = "#999999"
MODEL_COLOR = "#0072B2"
# Memory per model: weights at their dtype, the KV cache at the end of a run, and the rise of
# the process RSS (CPU) or of allocated memory (CUDA) during a warm-up run.
MEMORY_SERIES = (("weights", "#0072B2"), ("KV cache", "#009E73"), ("run peak increase", "#E69F00"))
BAR_WIDTH = 0.6


def make_plot(title: str, left_label: str) -> pg.PlotWidget:
    widget = pg.PlotWidget(background="w")
    item = widget.getPlotItem()
    item.setTitle(title, color="k")
    item.setLabel("left", left_label, color="k")
    item.showGrid(x=False, y=True, alpha=0.25)
    item.setMouseEnabled(x=False, y=False)
    item.hideButtons()
    for axis in ("left", "bottom"):
        item.getAxis(axis).setPen("k")
        item.getAxis(axis).setTextPen("k")
    widget.setMinimumHeight(180)
    return widget


class _BarPlot:
    """One bar per model with an IQR error bar; created once, updated with new data."""

    def __init__(self, title: str, left_label: str) -> None:
        self.widget = make_plot(title, left_label)
        self.bars = pg.BarGraphItem(x=[], height=[], width=BAR_WIDTH, brushes=[])
        self.errors = pg.ErrorBarItem(x=np.array([]), y=np.array([]), beam=0.2, pen=pg.mkPen("k", width=1.5))
        self.widget.addItem(self.bars)
        self.widget.addItem(self.errors)

    def set_values(self, labels: list[str], medians, q1, q3) -> None:
        x = np.arange(len(labels), dtype=float)
        medians = np.asarray(medians, dtype=float)
        brushes = [pg.mkBrush(BASELINE_COLOR if i == 0 else MODEL_COLOR) for i in range(len(labels))]
        self.bars.setOpts(x=x, height=medians, width=BAR_WIDTH, brushes=brushes)
        self.errors.setData(x=x, y=medians, top=np.asarray(q3) - medians, bottom=medians - np.asarray(q1))
        _set_ticks(self.widget, labels)
        self.widget.getPlotItem().enableAutoRange()


def _set_ticks(widget: pg.PlotWidget, labels: list[str]) -> None:
    widget.getPlotItem().getAxis("bottom").setTicks([[(i, label) for i, label in enumerate(labels)]])
    widget.getPlotItem().setXRange(-0.6, max(len(labels) - 0.4, 0.6), padding=0)


class SpeedCharts(QWidget):
    """Prefill tokens/s, decode tokens/s and memory per model of one benchmark."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.prefill = _BarPlot("Prefill (median, IQR)", "tokens/s")
        self.decode = _BarPlot("Decode (median, IQR)", "tokens/s")
        self.memory_widget = make_plot("Memory", "MiB")
        legend = self.memory_widget.getPlotItem().addLegend(offset=(-5, 5), labelTextColor="k")
        self.memory_bars = {}
        for name, color in MEMORY_SERIES:
            bars = pg.BarGraphItem(x=[], height=[], width=BAR_WIDTH / len(MEMORY_SERIES), brush=color)
            self.memory_widget.addItem(bars)
            legend.addItem(bars, name)
            self.memory_bars[name] = bars

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.prefill.widget)
        layout.addWidget(self.decode.widget)
        layout.addWidget(self.memory_widget)

    def show_record(self, record: BenchRecord) -> None:
        models = record.models
        labels = [model.label for model in models]
        self.prefill.set_values(labels, *_columns([model.prefill_tokens_per_s for model in models]))
        self.decode.set_values(labels, *_columns([model.decode_tokens_per_s for model in models]))

        x = np.arange(len(models), dtype=float)
        heights = {
            "weights": [model.weight_bytes / MIB for model in models],
            "KV cache": [model.kv_cache_bytes / MIB for model in models],
            "run peak increase": [model.run_memory_bytes / MIB for model in models],
        }
        width = BAR_WIDTH / len(MEMORY_SERIES)
        for index, (name, _) in enumerate(MEMORY_SERIES):
            offset = (index - (len(MEMORY_SERIES) - 1) / 2) * width
            self.memory_bars[name].setOpts(x=x + offset, height=heights[name], width=width)
        _set_ticks(self.memory_widget, labels)
        # Head room above the tallest bar keeps the legend in the top corner off the bars.
        tallest = max((max(values) for values in heights.values() if values), default=1.0)
        self.memory_widget.getPlotItem().setYRange(0, tallest * 1.45, padding=0)

    def clear(self) -> None:
        for plot in (self.prefill, self.decode):
            plot.set_values([], [], [], [])
        for bars in self.memory_bars.values():
            bars.setOpts(x=[], height=[])


def _columns(summaries):
    return ([s.median for s in summaries], [s.q1 for s in summaries], [s.q3 for s in summaries])
