"""Acting on the analysis: fairness pruning scores per neuron pair, the plan change, and an ablation preview."""

from __future__ import annotations

import logging

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from optipfair_desktop.engine.bias.ablation import AblationPreview
from optipfair_desktop.engine.bias.analysis import BiasAnalysis
from optipfair_desktop.engine.bias.capture import GLU_COMPONENTS
from optipfair_desktop.engine.bias.fairness import AGGREGATIONS, FairnessScores, plan_with_fairness_cut
from optipfair_desktop.engine.plan import parse_block_list
from optipfair_desktop.gui.bias import jobs
from optipfair_desktop.gui.bias.export import ExportBar
from optipfair_desktop.gui.bias.plot_style import make_plot_widget

logger = logging.getLogger(__name__)


def most_divergent_blocks(analysis: BiasAnalysis, count: int) -> list[int]:
    """Return the ``count`` blocks whose gate_proj and up_proj outputs diverge most, in block order."""
    divergence = np.mean([analysis.block_stat(component) for component in GLU_COMPONENTS], axis=0)
    order = np.argsort(-divergence, kind="stable")[:count]
    return sorted(analysis.block_indices[i] for i in order)


class FairnessView(QWidget):
    """Score neuron pairs by bias and importance, add the cut to the plan, preview it on a pair."""

    def __init__(self, session, runner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = runner
        self.analysis: BiasAnalysis | None = None
        self.fairness: FairnessScores | None = None
        self.preview: AblationPreview | None = None
        self.block_idx = 0

        # Settings -------------------------------------------------------------------------
        self.blocks_edit = QLineEdit()
        self.blocks_edit.setPlaceholderText("blocks, e.g. 10-20 or 3,5,7")
        self.top_spin = QSpinBox()
        self.top_spin.setRange(1, 512)
        self.top_spin.setValue(4)
        self.top_button = QPushButton("Most divergent")
        self.top_button.setToolTip("Fill in the blocks whose gate_proj and up_proj outputs diverge most")
        self.top_button.clicked.connect(self._fill_most_divergent)
        self.percent_spin = QDoubleSpinBox()
        self.percent_spin.setRange(0.1, 99.0)
        self.percent_spin.setDecimals(1)
        self.percent_spin.setValue(10.0)
        self.percent_spin.setSuffix(" %")
        self.percent_spin.valueChanged.connect(lambda _value: self._refresh_plot())
        self.weight_spin = QDoubleSpinBox()
        self.weight_spin.setRange(0.0, 1.0)
        self.weight_spin.setSingleStep(0.05)
        self.weight_spin.setValue(0.8)
        self.weight_spin.setToolTip("1 ranks neuron pairs by bias only, 0 by low importance only")
        self.aggregation_combo = QComboBox()
        self.aggregation_combo.addItems(list(AGGREGATIONS))
        self.compute_button = QPushButton("Compute scores")
        self.compute_button.clicked.connect(self.compute_scores)
        self.add_button = QPushButton("Add to plan")
        self.add_button.setToolTip("Prune the chosen percentage of each scored block, highest fairness scores first")
        self.add_button.clicked.connect(self.add_to_plan)
        self.status_label = QLabel("Run an analysis, choose blocks, then compute scores.")
        self.status_label.setWordWrap(True)

        top_row = QHBoxLayout()
        top_row.addWidget(self.blocks_edit, 1)
        top_row.addWidget(self.top_spin)
        top_row.addWidget(self.top_button)
        form = QFormLayout()
        form.addRow("Blocks", top_row)
        form.addRow("Prune", self.percent_spin)
        form.addRow("Bias weight", self.weight_spin)
        form.addRow("Over pairs", self.aggregation_combo)
        buttons = QHBoxLayout()
        buttons.addWidget(self.compute_button)
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)

        # Scores plot ----------------------------------------------------------------------
        self.plot_widget = make_plot_widget()
        self.plot_item = self.plot_widget.getPlotItem()
        self.plot_item.setLabel("bottom", "neuron pairs, highest score first")
        self.plot_item.setLabel("left", "score")
        legend = self.plot_item.addLegend(offset=(-10, 10), labelTextColor="k")
        legend.setBrush(pg.mkBrush(255, 255, 255, 200))
        self.score_curve = self.plot_item.plot([], [], pen=pg.mkPen("#0072B2", width=2), name="fairness score")
        self.bias_points = self.plot_item.plot([], [], pen=None, symbol="o", symbolSize=3, symbolPen=None,
                                               symbolBrush=pg.mkBrush(213, 94, 0, 120), name="bias (normalized)")
        self.cut_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#CC0000", width=1),
                                        label="cut", labelOpts={"color": "#CC0000", "position": 0.9})
        self.cut_line.setVisible(False)
        self.plot_item.addItem(self.cut_line, ignoreBounds=True)

        # Ablation preview -----------------------------------------------------------------
        self.pair_combo = QComboBox()
        self.tokens_spin = QSpinBox()
        self.tokens_spin.setRange(1, 256)
        self.tokens_spin.setValue(30)
        self.preview_button = QPushButton("Preview")
        self.preview_button.setToolTip("Greedy generations before and after zeroing the neuron pairs; nothing is saved")
        self.preview_button.clicked.connect(self.run_preview)
        self.texts = {name: QPlainTextEdit() for name in ("before_a", "after_a", "before_b", "after_b")}
        for text in self.texts.values():
            text.setReadOnly(True)
        preview_row = QHBoxLayout()
        preview_row.addWidget(QLabel("Pair"))
        preview_row.addWidget(self.pair_combo, 1)
        preview_row.addWidget(QLabel("New tokens"))
        preview_row.addWidget(self.tokens_spin)
        preview_row.addWidget(self.preview_button)
        grid = QGridLayout()
        grid.addWidget(QLabel("<b>Before</b>"), 0, 1)
        grid.addWidget(QLabel("<b>After zeroing</b>"), 0, 2)
        grid.addWidget(QLabel("<b>A</b>"), 1, 0)
        grid.addWidget(QLabel("<b>B</b>"), 2, 0)
        grid.addWidget(self.texts["before_a"], 1, 1)
        grid.addWidget(self.texts["after_a"], 1, 2)
        grid.addWidget(self.texts["before_b"], 2, 1)
        grid.addWidget(self.texts["after_b"], 2, 2)
        preview_box = QGroupBox("Ablation preview (in memory; the loaded weights are not changed)")
        preview_layout = QVBoxLayout(preview_box)
        preview_layout.addLayout(preview_row)
        preview_layout.addLayout(grid)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status_label)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(ExportBar("bias_fairness_scores", plot_item=lambda: self.plot_item))
        layout.addWidget(preview_box)
        self.clear()

    # State ---------------------------------------------------------------------------------

    def clear(self) -> None:
        self.analysis = None
        self.fairness = None
        self.preview = None
        self.pair_combo.clear()
        for text in self.texts.values():
            text.clear()
        self.score_curve.setData([], [])
        self.bias_points.setData([], [])
        self.cut_line.setVisible(False)
        self.plot_item.setTitle("Fairness scores (compute them first)", color="k")
        self.status_label.setText("Run an analysis, choose blocks, then compute scores.")
        self.set_busy(False)

    def set_analysis(self, analysis: BiasAnalysis) -> None:
        self.clear()
        self.analysis = analysis
        for index, result in enumerate(analysis.pairs):
            self.pair_combo.addItem(f"{index + 1}: {result.pair.label}", index)
        if not self.blocks_edit.text().strip():
            self._fill_most_divergent()
        self.set_busy(False)

    def set_busy(self, busy: bool) -> None:
        ready = self.analysis is not None and not busy
        for widget in (self.compute_button, self.top_button):
            widget.setEnabled(ready)
        self.add_button.setEnabled(ready and self.fairness is not None)
        self.preview_button.setEnabled(ready and self.fairness is not None)

    def set_block(self, block_idx: int) -> None:
        self.block_idx = block_idx
        self._refresh_plot()

    def _fill_most_divergent(self) -> None:
        if self.analysis is None:
            return
        blocks = most_divergent_blocks(self.analysis, min(self.top_spin.value(), len(self.analysis.block_indices)))
        self.blocks_edit.setText(",".join(map(str, blocks)))

    def chosen_blocks(self) -> list[int]:
        blocks = parse_block_list(self.blocks_edit.text())
        if not blocks:
            raise ValueError("No blocks chosen; type block indices such as 10-20, or press 'Most divergent'.")
        return blocks

    # Actions -------------------------------------------------------------------------------

    def compute_scores(self) -> None:
        if self.analysis is None:
            return
        try:
            blocks = self.chosen_blocks()
        except ValueError as error:
            self.status_label.setText(str(error))
            return
        analysis = self.analysis
        self.runner.start("Fairness scores", jobs.fairness_job, self.session, analysis, blocks,
                          self.weight_spin.value(), self.aggregation_combo.currentText(),
                          on_finished=lambda result: self._on_scores(result) if analysis is self.analysis else None)

    def _on_scores(self, fairness: FairnessScores) -> None:
        self.fairness = fairness
        _, note = jobs.importance_method(self.session)
        blocks = ", ".join(map(str, fairness.scores))
        self.status_label.setText(
            f"Scores for blocks {blocks}: bias weight {fairness.bias_weight:g}, importance {fairness.importance_method}, "
            f"{fairness.aggregation} over pairs, {fairness.mode} comparison." + (f" Note: {note}." if note else "")
        )
        if self.block_idx not in fairness.scores:
            self.block_idx = next(iter(fairness.scores))
        self._refresh_plot()
        self.set_busy(False)

    def _refresh_plot(self) -> None:
        if self.fairness is None or self.block_idx not in self.fairness.scores:
            return
        scores = self.fairness.scores[self.block_idx]
        bias = self.fairness.bias[self.block_idx]
        order = np.argsort(-scores, kind="stable")
        spread = bias.max() - bias.min()
        bias_normalized = (bias - bias.min()) / spread if spread > 0 else np.zeros_like(bias)
        ranks = np.arange(len(scores))
        self.score_curve.setData(ranks, scores[order])
        self.bias_points.setData(ranks, bias_normalized[order])
        cut = self._planned_cut(len(scores))
        self.cut_line.setPos(cut)
        self.cut_line.setVisible(True)
        self.plot_item.setTitle(
            f"Block {self.block_idx}: {len(scores)} neuron pairs, the first {cut} are cut — "
            f"{self.fairness.mode} comparison, bias weight {self.fairness.bias_weight:g}", color="k",
        )

    def _planned_cut(self, width: int) -> int:
        """Count the neuron pairs the cut removes, with the plan's divisor rounding, as the preview does."""
        from optipfair_desktop.engine.plan import PlanError, WidthTarget
        from optipfair_desktop.engine.plan_check import kept_width

        structure = getattr(self.session, "structure", None)
        divisor = getattr(getattr(self.session, "plan", None), "divisor", None)
        if structure is None:
            return int(self.percent_spin.value() / 100 * width)
        try:
            target = WidthTarget("percent", float(self.percent_spin.value()))
            return width - kept_width(width, structure.hidden_size, target, divisor, self.block_idx)
        except PlanError:
            return int(self.percent_spin.value() / 100 * width)

    def add_to_plan(self) -> None:
        if self.fairness is None:
            return
        try:
            plan = plan_with_fairness_cut(self.session.plan, self.fairness.scores, self.percent_spin.value(),
                                          hidden_size=self.session.structure.hidden_size)
        except ValueError as error:
            self.status_label.setText(str(error))
            return
        self.session.set_plan(plan)
        blocks = ", ".join(map(str, self.fairness.scores))
        self.status_label.setText(f"Added to the plan: prune {self.percent_spin.value():g}% of blocks {blocks}, "
                                  "highest fairness scores first.")
        logger.info("Fairness cut added to the plan for blocks %s", blocks)

    def run_preview(self) -> None:
        if self.fairness is None or self.analysis is None or self.pair_combo.currentIndex() < 0:
            return
        pair = self.analysis.pairs[self.pair_combo.currentData()].pair
        fairness = self.fairness
        self.runner.start("Ablation preview", jobs.ablation_job, self.session, pair, fairness,
                          self.percent_spin.value(), self.tokens_spin.value(),
                          on_finished=lambda result: self._on_preview(result) if fairness is self.fairness else None)

    def _on_preview(self, preview: AblationPreview) -> None:
        self.preview = preview
        for name, text in self.texts.items():
            prompt = preview.pair.prompt_a if name.endswith("_a") else preview.pair.prompt_b
            text.setPlainText(f"{prompt}▶{getattr(preview, name)}")
        self.status_label.setText(
            f"Preview with {preview.zeroed_count} neuron pairs zeroed in blocks "
            f"{', '.join(map(str, preview.neurons))}; greedy decoding, {preview.max_new_tokens} new tokens."
        )
        self.set_busy(False)
