"""Importance panel: which blocks matter (block scores) and which neuron pairs a width cut keeps.

``ImportancePanel(session)`` is self-contained: it owns its job runners, reads and changes the
session, and listens to ``sigModelOpened``, ``sigPlanChanged``, ``sigBlockSelected`` and, when the
session has it, ``sigProtectionChanged``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from optipfair_desktop.engine.block_scores import CRITERIA, CRITERION_LABELS, BlockScores, select_least_important
from optipfair_desktop.engine.calibration import DEFAULT_NUM_WINDOWS, DEFAULT_WINDOW_LENGTH
from optipfair_desktop.engine.protection import default_protected_blocks
from optipfair_desktop.gui.importance.jobs import AnalysisResult, AnalysisSettings, read_cached_analysis, run_analysis, sorted_neuron_scores
from optipfair_desktop.gui.importance.neuron_plot import NeuronScorePlot
from optipfair_desktop.gui.importance.score_plot import LEGEND_HTML, BlockScorePlot
from optipfair_desktop.gui.panels.job_bar import JobBar
from optipfair_desktop.gui.worker import JobRunner

logger = logging.getLogger(__name__)

CRITERION_TIPS = {
    "cosine": "1 − cosine similarity between a block's input and output hidden states (one forward pass)",
    "angular": "arccos(cosine similarity) / π between the input of a run of blocks and its output (one forward pass)",
    "perplexity": "perplexity increase on the calibration windows when the block is skipped (one pass per block)",
}
METHOD_LABELS = {"ppm": "PPM", "vow": "VOW", "pon": "PON", "l2": "L2", "hybrid": "hybrid"}
EXPORT_MIN_WIDTH = 1200


class ImportancePanel(QWidget):
    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = JobRunner(self)
        self.neuron_runner = JobRunner(self)
        self.scores: BlockScores | None = None
        self.calibration_record: dict | None = None
        self.calibration_path: str | None = None
        # Sorted neuron-pair scores per (block, criterion, source of the scores), so that a new
        # width target only moves the cut line.
        self._neuron_scores: dict[tuple, np.ndarray] = {}
        self._neuron_request: tuple | None = None

        self._build_controls()
        self._build_plots()
        self._build_layout()
        self._connect()
        self._update_buttons()

    # Construction

    def _build_controls(self) -> None:
        self.criterion = QComboBox()
        for key in CRITERIA:
            self.criterion.addItem(CRITERION_LABELS[key], key)
            self.criterion.setItemData(self.criterion.count() - 1, CRITERION_TIPS[key], 3)  # tooltip role
        self.run_length = QSpinBox()
        self.run_length.setRange(1, 64)
        self.run_length.setToolTip("Score runs of this many consecutive blocks; 1 scores single blocks")

        self.calibration_label = QLabel()
        self.calibration_label.setWordWrap(True)
        self.choose_calibration = QPushButton("Choose...")
        self.choose_calibration.setToolTip("Pick a .txt file or a .jsonl file with a \"text\" field per line")
        self.default_calibration = QPushButton("Default")
        self.num_windows = QSpinBox()
        self.num_windows.setRange(1, 4096)
        self.num_windows.setValue(DEFAULT_NUM_WINDOWS)
        self.window_length = QSpinBox()
        self.window_length.setRange(8, 8192)
        self.window_length.setValue(DEFAULT_WINDOW_LENGTH)
        self.window_length.setSuffix(" tokens")
        self.collect_norms = QCheckBox("Collect activation norms for the hybrid width criterion")
        self.collect_norms.setChecked(True)
        self.analyze_button = QPushButton("Analyze")

        self.select_count = QSpinBox()
        self.select_count.setRange(1, 64)
        self.select_count.setValue(3)
        self.select_button = QPushButton("Select the N least important blocks")
        self.protection_label = QLabel()
        self.hybrid_button = QPushButton("Use the hybrid width criterion")
        self.hybrid_button.setToolTip("Set the plan's width criterion to hybrid, using the activation norms just collected")
        self.export_button = QPushButton("Export PNG...")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020;")
        self.legend = QLabel(LEGEND_HTML)
        self.job_bar = JobBar(self.runner)
        self._show_calibration_choice()

    def _build_plots(self) -> None:
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        score_item = self.graphics.addPlot(row=0, col=0)
        neuron_item = self.graphics.addPlot(row=1, col=0)
        for item in (score_item, neuron_item):
            for axis in ("left", "bottom"):
                item.getAxis(axis).setPen("k")
                item.getAxis(axis).setTextPen("k")
        self.score_plot = BlockScorePlot(score_item, self)
        self.neuron_plot = NeuronScorePlot(neuron_item, self)
        self.score_plot.clear()

    def _build_layout(self) -> None:
        form = QFormLayout()
        criterion_row = QHBoxLayout()
        criterion_row.addWidget(self.criterion, 1)
        criterion_row.addWidget(QLabel("run length"))
        criterion_row.addWidget(self.run_length)
        form.addRow("Criterion", criterion_row)
        calibration_row = QHBoxLayout()
        calibration_row.addWidget(self.calibration_label, 1)
        calibration_row.addWidget(self.choose_calibration)
        calibration_row.addWidget(self.default_calibration)
        form.addRow("Calibration text", calibration_row)
        windows_row = QHBoxLayout()
        windows_row.addWidget(self.num_windows)
        windows_row.addWidget(QLabel("windows of"))
        windows_row.addWidget(self.window_length)
        windows_row.addStretch(1)
        form.addRow("Windows", windows_row)
        form.addRow("", self.collect_norms)

        analyze_row = QHBoxLayout()
        analyze_row.addWidget(self.analyze_button)
        analyze_row.addWidget(self.job_bar, 1)

        select_row = QHBoxLayout()
        select_row.addWidget(QLabel("N ="))
        select_row.addWidget(self.select_count)
        select_row.addWidget(self.select_button)
        select_row.addWidget(self.protection_label, 1)

        actions_row = QHBoxLayout()
        actions_row.addWidget(self.hybrid_button)
        actions_row.addStretch(1)
        actions_row.addWidget(self.export_button)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(analyze_row)
        layout.addWidget(self.status)
        layout.addWidget(self.error)
        layout.addWidget(self.legend)
        layout.addWidget(self.graphics, 1)
        layout.addLayout(select_row)
        layout.addLayout(actions_row)

    def _connect(self) -> None:
        self.analyze_button.clicked.connect(self.analyze)
        self.choose_calibration.clicked.connect(self._ask_calibration_file)
        self.default_calibration.clicked.connect(lambda: self.set_calibration_path(None))
        self.criterion.currentIndexChanged.connect(self._update_buttons)
        self.run_length.valueChanged.connect(self._update_buttons)
        # Show the cached result of the new settings, or report that the chart belongs to other settings.
        self.criterion.currentIndexChanged.connect(self._on_settings_change)
        self.run_length.valueChanged.connect(self._on_settings_change)
        self.select_button.clicked.connect(self.select_least_important_blocks)
        self.hybrid_button.clicked.connect(self.use_hybrid_criterion)
        self.export_button.clicked.connect(self._ask_export_path)
        self.score_plot.sigBlockClicked.connect(self.session.select_block)

        self.runner.sigFailed.connect(lambda name, message: self.error.setText(f"{name} failed: {message}"))
        self.runner.sigCancelled.connect(lambda name: self.status.setText(f"{name} cancelled"))
        self.runner.sigStarted.connect(lambda name: self.error.setText(""))
        self.runner.sigStarted.connect(lambda name: self._update_buttons())
        self.runner.sigIdle.connect(self._update_buttons)
        self.neuron_runner.sigFailed.connect(lambda name, message: self.neuron_plot.show_message(message))

        self.session.sigModelOpened.connect(self._on_model_opened)
        self.session.sigPlanChanged.connect(self._on_plan_changed)
        self.session.sigBlockSelected.connect(self._on_block_selected)
        if hasattr(self.session, "sigProtectionChanged"):
            self.session.sigProtectionChanged.connect(self._redraw_scores)

    # Settings

    def settings(self) -> AnalysisSettings:
        return AnalysisSettings(
            criterion=self.criterion.currentData(),
            run_length=self.run_length.value(),
            calibration_path=self.calibration_path,
            num_windows=self.num_windows.value(),
            window_length=self.window_length.value(),
            collect_norms=self.collect_norms.isChecked(),
        )

    def set_calibration_path(self, path: str | None) -> None:
        self.calibration_path = path
        self._show_calibration_choice()

    def _show_calibration_choice(self) -> None:
        if self.calibration_path is None:
            self.calibration_label.setText("Brown Corpus sample (shipped, English)")
        else:
            self.calibration_label.setText(Path(self.calibration_path).name)
        self.calibration_label.setToolTip(self.calibration_path or "resources/calibration/brown_sample.txt")

    def _ask_calibration_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose calibration text", "", "Text files (*.txt *.jsonl);;All files (*)"
        )
        if path:
            self.set_calibration_path(path)

    # Jobs

    def analyze(self) -> None:
        """Start the analysis with the current settings; results arrive in ``_on_result``."""
        if getattr(self.session, "source", None) is None:
            self.error.setText("Open a model first.")
            return
        settings = self.settings()
        self.status.setText("")
        self.runner.start("Importance analysis", run_analysis, self.session, settings, on_finished=self._on_result)

    def _look_up_cache(self) -> None:
        if getattr(self.session, "source", None) is None or getattr(self.session.source, "folder", None) is None:
            return
        self.runner.start("Cached importance", read_cached_analysis, self.session, self.settings(),
                          on_finished=self._on_result)

    def _on_settings_change(self) -> None:
        if not self.runner.is_busy:
            self._look_up_cache()

    def _on_result(self, result: AnalysisResult | None) -> None:
        if result is None:
            shown = f" The chart still shows {self.scores.criterion}." if self.scores is not None else ""
            self.status.setText(f"No cached results for these settings; press Analyze.{shown}")
            return
        self.calibration_record = result.calibration
        if result.activation_norms is not None:
            self.session.activation_norms = result.activation_norms
            self._neuron_scores = {key: value for key, value in self._neuron_scores.items() if key[1] != "hybrid"}
        if result.scores is not None:
            self.scores = result.scores
            self._redraw_scores()
            if result.scores.run_length == 1:
                self.session.set_block_scores(result.scores.criterion, result.scores.scores)
            self.status.setText(self._summary_text(result))
        self._update_buttons()
        self._refresh_neuron_plot()

    def _summary_text(self, result: AnalysisResult) -> str:
        scores = result.scores
        calibration = result.calibration
        text = (f"{CRITERION_LABELS[scores.criterion]} of {len(scores.scores)} "
                f"{'blocks' if scores.run_length == 1 else f'runs of {scores.run_length} blocks'} on "
                f"{calibration['num_windows']} windows of {calibration['window_length']} tokens of {calibration['source']}")
        if scores.baseline_perplexity is not None:
            text += f"; full-model perplexity {scores.baseline_perplexity:.2f}"
        unknown = len(scores.scores) - scores.num_known
        if unknown:
            text += f"; {unknown} unknown (marked x)"
        if result.activation_norms is not None:
            text += "; activation norms collected"
        return text

    # Session events

    def _on_model_opened(self) -> None:
        self.runner.cancel()
        self.neuron_runner.cancel()
        self.scores = None
        self.calibration_record = None
        self._neuron_scores = {}
        self._neuron_request = None
        self.score_plot.clear()
        self.neuron_plot.show_message("Select a block to see its neuron-pair scores")
        self.status.setText("")
        self.error.setText("")
        structure = getattr(self.session, "structure", None)
        if structure is not None:
            self.run_length.setMaximum(max(1, structure.num_blocks - 1))
            self.select_count.setMaximum(max(1, structure.num_blocks - 1))
        self._update_buttons()
        self._look_up_cache()

    def _on_plan_changed(self) -> None:
        self._redraw_scores()
        self._update_buttons()
        self._refresh_neuron_plot()

    def _on_block_selected(self, block_idx: int) -> None:
        self.score_plot.set_selected(block_idx)
        self._refresh_neuron_plot()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._refresh_neuron_plot()

    # Block scores

    def protected_blocks(self) -> set[int]:
        """Return the session's protected blocks, or the first 4 and last 2 when it has no such method."""
        method = getattr(self.session, "protected_blocks", None)
        if callable(method):
            return set(method())
        structure = getattr(self.session, "structure", None)
        if structure is not None:
            return default_protected_blocks(structure.num_blocks)
        if self.scores is not None:
            return default_protected_blocks(len(self.scores.scores))
        return set()

    def _redraw_scores(self) -> None:
        self._update_protection_label()
        if self.scores is None:
            return
        removed = set(self.session.plan.remove_blocks)
        self.score_plot.show_scores(self.scores, removed, self.protected_blocks(), getattr(self.session, "selected_block", None))

    def _update_protection_label(self) -> None:
        protected = sorted(self.protected_blocks())
        self.protection_label.setText(f"protected: {', '.join(map(str, protected)) or 'none'}")

    def select_least_important_blocks(self) -> list[int] | None:
        """Fill the plan's ``remove_blocks`` with the N least important unprotected blocks."""
        if self.scores is None:
            self.error.setText("Run Analyze first.")
            return None
        count = self.scores.run_length if self.scores.run_length > 1 else self.select_count.value()
        try:
            chosen = select_least_important(self.scores, count, self.protected_blocks())
        except ValueError as error:
            self.error.setText(str(error))
            return None
        self.error.setText("")
        self.session.set_plan(self.session.plan.replace(remove_blocks=chosen))
        self.status.setText(f"Plan removes blocks {', '.join(map(str, sorted(chosen)))} "
                            f"(least important by {CRITERION_LABELS[self.scores.criterion]})")
        return chosen

    def use_hybrid_criterion(self) -> None:
        if self.session.activation_norms is None:
            self.error.setText("Run Analyze with activation norms first.")
            return
        self.session.set_plan(self.session.plan.replace(method="hybrid", calibration=self.calibration_record))

    def _update_buttons(self) -> None:
        has_model = getattr(self.session, "source", None) is not None
        busy = self.runner.is_busy
        self.analyze_button.setEnabled(has_model and not busy)
        runs = self.scores is not None and self.scores.run_length > 1
        self.select_count.setEnabled(not runs)
        if runs:
            self.select_count.setValue(self.scores.run_length)
        self.select_button.setEnabled(self.scores is not None)
        self.hybrid_button.setEnabled(getattr(self.session, "activation_norms", None) is not None)
        self.export_button.setEnabled(self.scores is not None or self.neuron_plot.sorted_scores is not None)
        self._update_protection_label()

    # Neuron-pair scores of the selected block

    def _refresh_neuron_plot(self) -> None:
        block_idx = getattr(self.session, "selected_block", None)
        if block_idx is None or not self.isVisible() or getattr(self.session, "source", None) is None:
            return
        plan = self.session.plan
        method = plan.method
        custom = plan.neuron_scores.get(block_idx)
        norms = getattr(self.session, "activation_norms", None)
        if custom is None and method == "hybrid" and (norms is None or block_idx not in norms):
            self.neuron_plot.show_message("The hybrid criterion needs activation norms: run Analyze with them checked")
            return
        key = (block_idx, method if custom is None else "custom", id(norms) if method == "hybrid" else None,
               tuple(custom) if custom is not None else None)
        if key in self._neuron_scores:
            self._show_neuron_scores(key, self._neuron_scores[key])
            return
        if key == self._neuron_request and self.neuron_runner.is_busy:
            return
        self._neuron_request = key
        self.neuron_plot.show_message(f"Scoring the neuron pairs of block {block_idx}...")
        self.neuron_runner.start(
            "Neuron-pair scores", sorted_neuron_scores, self.session, block_idx, method, norms, custom,
            on_finished=lambda values, k=key: self._on_neuron_scores(k, values),
        )

    def _on_neuron_scores(self, key: tuple, values: np.ndarray) -> None:
        self._neuron_scores[key] = values
        if key[0] == getattr(self.session, "selected_block", None):
            self._show_neuron_scores(key, values)
        self._update_buttons()

    def _show_neuron_scores(self, key: tuple, values: np.ndarray) -> None:
        block_idx, label = key[0], key[1]
        method_label = "custom scores" if label == "custom" else f"{METHOD_LABELS.get(label, label)} scores"
        removed = block_idx in set(self.session.plan.remove_blocks)
        planned_width = getattr(self.session, "planned_width", None)
        kept = planned_width(block_idx) if callable(planned_width) else None
        self.neuron_plot.show_scores(block_idx, method_label, values, kept, removed)

    # Export

    def _ask_export_path(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export importance plots", "importance.png", "PNG image (*.png)")
        if path:
            self.export_png(path)

    def export_png(self, path: str | Path) -> Path:
        """Write both plots into one PNG file and return its path."""
        path = Path(path)
        if path.suffix.lower() != ".png":
            path = path.with_suffix(".png")
        exporter = pyqtgraph.exporters.ImageExporter(self.graphics.scene())
        width = int(exporter.parameters()["width"])
        if width < EXPORT_MIN_WIDTH:
            exporter.parameters()["width"] = EXPORT_MIN_WIDTH
        exporter.export(str(path))
        logger.info("Exported importance plots to %s", path)
        return path
