"""Scatter of perplexity against decode speed for every model in the benchmark history."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from optipfair_desktop.engine.bench import BenchRecord
from optipfair_desktop.engine.bench.candidates import plan_summary
from optipfair_desktop.gui.bench.charts import make_plot

KIND_COLORS = {"original": "#999999", "planned": "#0072B2", "folder": "#D55E00", "model": "#009E73"}
ALL_DEVICES = "all devices"


def quality_points(records: list[BenchRecord], text_name: str, device: str | None) -> list[dict]:
    """Return one point per model measured on ``text_name`` (and ``device`` unless None)."""
    points = []
    for record in records:
        if device is not None and record.settings.device != device:
            continue
        for model in record.models:
            for result in model.perplexity:
                if result.text_name != text_name:
                    continue
                description = plan_summary(model.plan) if model.plan else model.source
                points.append({
                    "x": model.decode_tokens_per_s.median,
                    "y": result.perplexity,
                    "kind": model.kind,
                    "tip": f"{model.label} ({description})\n{record.created}, {record.settings.device}, "
                           f"{model.dtype}\ndecode {model.decode_tokens_per_s.median:.1f} tokens/s, "
                           f"perplexity {result.perplexity:.2f}",
                })
    return points


class QualityScatter(QWidget):
    """Perplexity (lower is better) against decode tokens/s (higher is better)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.records: list[BenchRecord] = []
        self.text_combo = QComboBox()
        self.device_combo = QComboBox()
        self.plot = make_plot("Perplexity against decode speed, every model tried", "perplexity")
        self.plot.getPlotItem().setLabel("bottom", "decode tokens/s (median)", color="k")
        self.plot.getPlotItem().setMouseEnabled(x=True, y=True)
        self.scatter = pg.ScatterPlotItem(size=11, hoverable=True, tip=lambda x, y, data: data)
        self.plot.addItem(self.scatter)
        self.count_label = QLabel()

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Text"))
        controls.addWidget(self.text_combo, 1)
        controls.addWidget(QLabel("Device"))
        controls.addWidget(self.device_combo)
        controls.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.plot, 1)
        self.text_combo.currentTextChanged.connect(lambda _: self._redraw())
        self.device_combo.currentTextChanged.connect(lambda _: self._redraw())

    def set_records(self, records: list[BenchRecord]) -> None:
        self.records = list(records)
        texts = sorted({r.text_name for rec in records for m in rec.models for r in m.perplexity})
        devices = sorted({rec.settings.device for rec in records})
        _refill(self.text_combo, texts)
        _refill(self.device_combo, [ALL_DEVICES, *devices])
        self._redraw()

    def points(self) -> list[dict]:
        device = self.device_combo.currentText()
        return quality_points(self.records, self.text_combo.currentText(), None if device == ALL_DEVICES else device)

    def _redraw(self) -> None:
        points = self.points()
        self.scatter.setData(
            x=[p["x"] for p in points], y=[p["y"] for p in points], data=[p["tip"] for p in points],
            brush=[pg.mkBrush(KIND_COLORS.get(p["kind"], "#000000")) for p in points],
        )
        self.count_label.setText(f"{len(points)} models; grey original, blue planned, red checkpoint")


def _refill(combo: QComboBox, items: list[str]) -> None:
    current = combo.currentText()
    combo.blockSignals(True)
    combo.clear()
    combo.addItems(items)
    if current in items:
        combo.setCurrentText(current)
    combo.blockSignals(False)
