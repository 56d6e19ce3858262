"""Colours and helpers shared by the bias plots."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

# Colour-blind-safe (Okabe-Ito) colours, one per captured component.
COMPONENT_COLORS = {
    "attention_output": "#0072B2",
    "mlp_output": "#E69F00",
    "gate_proj": "#009E73",
    "up_proj": "#CC79A7",
}
PROMPT_A_COLOR = "#0072B2"
PROMPT_B_COLOR = "#D55E00"
SELECTED_BLOCK_PEN = pg.mkPen("#888888", width=1, style=Qt.PenStyle.DashLine)


def make_component_combo(on_change: Callable[[], None], default: str = "mlp_output") -> QComboBox:
    """Create the component chooser that the heatmap, PCA and comparison views share."""
    from optipfair_desktop.engine.bias import COMPONENTS

    combo = QComboBox()
    combo.addItems(list(COMPONENTS))
    combo.setCurrentText(default)
    combo.currentTextChanged.connect(lambda _text: on_change())
    return combo


def make_plot_widget() -> pg.PlotWidget:
    widget = pg.PlotWidget(background="w")
    item = widget.getPlotItem()
    item.showGrid(x=True, y=True, alpha=0.2)
    for axis in ("left", "bottom"):
        item.getAxis(axis).setPen("k")
        item.getAxis(axis).setTextPen("k")
    return widget


def connect_block_clicks(
    plot_item: pg.PlotItem, block_positions: Callable[[], Sequence[tuple[float, int]]], on_block: Callable[[int], None]
) -> None:
    """Call ``on_block(block_idx)`` with the block nearest to a left click inside ``plot_item``.

    ``block_positions`` returns ``(x, block_idx)`` for every plotted block (empty when nothing is plotted).
    """
    view = plot_item.getViewBox()

    def clicked(event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or not view.sceneBoundingRect().contains(event.scenePos()):
            return
        positions = list(block_positions())
        if not positions:
            return
        x = view.mapSceneToView(event.scenePos()).x()
        _, block_idx = min(positions, key=lambda item: abs(item[0] - x))
        on_block(block_idx)

    plot_item.scene().sigMouseClicked.connect(clicked)
