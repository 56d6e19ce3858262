"""The bias lab panel: prompt pairs, their tokens, where their activations diverge, and what to do about it."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from optipfair_desktop.engine.bias.alignment import COMPARISON_MODES, align_tokens
from optipfair_desktop.engine.bias.analysis import BiasAnalysis
from optipfair_desktop.engine.bias.pairs import default_pairs
from optipfair_desktop.gui.bias import jobs
from optipfair_desktop.gui.bias.compare_view import CompareView
from optipfair_desktop.gui.bias.divergence_plot import DivergencePlot
from optipfair_desktop.gui.bias.fairness_view import FairnessView
from optipfair_desktop.gui.bias.heatmap_plot import HeatmapPlot
from optipfair_desktop.gui.bias.metrics_table import MetricsTable
from optipfair_desktop.gui.bias.pairs_editor import PairsEditor
from optipfair_desktop.gui.bias.pca_plot import PcaPlot
from optipfair_desktop.gui.bias.token_view import TokenView
from optipfair_desktop.gui.worker import JobRunner

logger = logging.getLogger(__name__)

MODE_TIPS = {
    "aligned": "Compare token by token; shared tokens are matched in order, a differing span by its mean",
    "pooled": "Compare the mean over all tokens of each prompt",
    "last_token": "Compare the last token of each prompt, the one that predicts the next word",
}
ALL_PAIRS = "All pairs (mean)"


class BiasPanel(QWidget):
    """Self-contained panel; needs a session with the attributes and signals of ``gui.session.Session``."""

    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = JobRunner(self)
        self.analysis: BiasAnalysis | None = None
        self.tokenizer = None
        self.block_idx = 0
        # Bumped when a model is opened, so that results of jobs started before are dropped.
        self._generation = 0

        # Left: pairs, settings, tokens ----------------------------------------------------
        self.pairs_editor = PairsEditor()
        self.mode_combo = QComboBox()
        for mode in COMPARISON_MODES:
            self.mode_combo.addItem(mode)
            self.mode_combo.setItemData(self.mode_combo.count() - 1, MODE_TIPS[mode], role=3)  # Qt.ToolTipRole
        self.run_button = QPushButton("Analyse")
        self.run_button.setToolTip("Run every pair through the model and measure where the activations diverge")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.tokens_button = QPushButton("Show tokens")
        self.tokens_button.setToolTip("Load the tokenizer and show how the selected pair is tokenized")
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setTextVisible(False)
        self.status_label = QLabel("Edit the prompt pairs, then press Analyse.")
        self.status_label.setWordWrap(True)
        self.token_view = TokenView()

        run_row = QHBoxLayout()
        run_row.addWidget(QLabel("Comparison"))
        run_row.addWidget(self.mode_combo)
        run_row.addWidget(self.run_button)
        run_row.addWidget(self.cancel_button)
        run_row.addWidget(self.tokens_button)
        run_row.addStretch(1)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(QLabel("<b>Prompt pairs</b>"))
        left_layout.addWidget(self.pairs_editor, 3)
        left_layout.addLayout(run_row)
        left_layout.addWidget(self.progress_bar)
        left_layout.addWidget(self.status_label)
        left_layout.addWidget(QLabel("<b>Tokens of the selected pair</b>"))
        left_layout.addWidget(self.token_view, 2)

        # Right: results -------------------------------------------------------------------
        self.pair_combo = QComboBox()
        self.pair_combo.addItem(ALL_PAIRS, None)
        self.block_label = QLabel("Block: -")
        self.divergence_plot = DivergencePlot()
        self.heatmap_plot = HeatmapPlot()
        self.pca_plot = PcaPlot()
        self.metrics_table = MetricsTable()
        self.fairness_view = FairnessView(session, self.runner)
        self.compare_view = CompareView(session, self.runner)
        fairness_scroll = QScrollArea()
        fairness_scroll.setWidgetResizable(True)
        fairness_scroll.setWidget(self.fairness_view)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.divergence_plot, "Divergence per block")
        self.tabs.addTab(self.heatmap_plot, "Token × block")
        self.tabs.addTab(self.pca_plot, "PCA")
        self.tabs.addTab(self.metrics_table, "Metrics")
        self.tabs.addTab(fairness_scroll, "Act on it")
        self.tabs.addTab(self.compare_view, "Before vs after")

        selector_row = QHBoxLayout()
        selector_row.addWidget(QLabel("Show"))
        selector_row.addWidget(self.pair_combo, 1)
        selector_row.addWidget(self.block_label)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addLayout(selector_row)
        right_layout.addWidget(self.tabs, 1)

        # Pairs above results: the Analysis dock is narrow beside the block diagram.
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        # Wiring ---------------------------------------------------------------------------
        self.run_button.clicked.connect(self.run_analysis)
        self.cancel_button.clicked.connect(self.cancel_job)
        self.tokens_button.clicked.connect(self.show_tokens)
        self.mode_combo.currentTextChanged.connect(self._on_mode_change)
        self.pair_combo.currentIndexChanged.connect(lambda _index: self._show_results())
        self.pairs_editor.sigCurrentPairChanged.connect(self._on_current_pair_change)
        self.pairs_editor.sigPairsChanged.connect(self._on_pairs_change)
        for plot in (self.divergence_plot, self.heatmap_plot, self.compare_view):
            plot.sigBlockClicked.connect(self.session.select_block)
        self.session.sigBlockSelected.connect(self._on_block_selected)
        self.session.sigModelOpened.connect(self._on_model_opened)
        self.runner.sigStarted.connect(self._on_job_started)
        self.runner.sigProgress.connect(self._on_job_progress)
        self.runner.sigFailed.connect(self._on_job_failed)
        self.runner.sigCancelled.connect(self._on_job_cancelled)
        self.runner.sigFinished.connect(lambda name, _result: self.status_label.setText(f"{name}: done."))
        self.runner.sigIdle.connect(lambda: self._set_busy(False))

        self.pairs_editor.set_pairs(default_pairs())

    # Properties ----------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self.mode_combo.currentText()

    def selected_pair_index(self) -> int | None:
        """Return the pair chosen in 'Show' (None for the mean over all pairs)."""
        return self.pair_combo.currentData()

    def detail_pair_index(self) -> int:
        """Return the pair shown by views that need a single pair (heatmap, PCA)."""
        index = self.selected_pair_index()
        return 0 if index is None else index

    # Actions -------------------------------------------------------------------------------

    def run_analysis(self) -> None:
        try:
            pairs = self.pairs_editor.pairs()
        except ValueError as error:
            self.status_label.setText(str(error))
            return
        if not pairs:
            self.status_label.setText("No prompt pairs; add or generate at least one.")
            return
        self._start("Bias analysis", jobs.analysis_job, pairs, self.mode, on_finished=self._on_analysis)

    def show_tokens(self) -> None:
        pair = self.pairs_editor.pair_at(self.pairs_editor.current_row())
        if pair is None:
            self.token_view.show_message("Select a complete pair (both prompts filled in).")
            return
        if self.tokenizer is not None:
            self._show_alignment_of(pair)
            return
        self._start("Tokenize", jobs.tokenize_job, pair, on_finished=self._on_tokens)

    def cancel_job(self) -> None:
        self.runner.cancel()
        # A cancelled job ends later without sigIdle, so the buttons are released here.
        self._set_busy(False)
        self.status_label.setText("Cancelling…")

    def _start(self, name: str, function, *args, on_finished) -> None:
        """Start ``function(session, *args)`` and drop its result if a model was opened meanwhile."""
        generation = self._generation

        def finished(result) -> None:
            if generation == self._generation:
                on_finished(result)
            else:
                logger.info("Dropped the result of '%s', started for a previous model", name)

        self.runner.start(name, function, self.session, *args, on_finished=finished)

    # Job callbacks -------------------------------------------------------------------------

    def _on_analysis(self, result: jobs.AnalysisJobResult) -> None:
        self.analysis = result.analysis
        self.tokenizer = result.tokenizer
        self.pair_combo.blockSignals(True)
        self.pair_combo.clear()
        self.pair_combo.addItem(ALL_PAIRS, None)
        for index, pair_result in enumerate(result.analysis.pairs):
            self.pair_combo.addItem(f"{index + 1}: {pair_result.pair.label}", index)
        self.pair_combo.blockSignals(False)
        self.fairness_view.set_analysis(result.analysis)
        self._show_results()
        self._on_block_selected(self.block_idx if self.block_idx in result.analysis.block_indices else 0)
        self._on_current_pair_change(self.pairs_editor.current_row())
        floor = result.analysis.noise_floor
        self.status_label.setText(
            f"Analysed {len(result.analysis.pairs)} pairs on {len(result.analysis.block_indices)} blocks "
            f"({result.analysis.mode} comparison"
            + (f"; noise floor against {floor.other_dtype})." if floor else ").")
        )

    def _on_tokens(self, result) -> None:
        alignment, tokenizer = result
        self.tokenizer = tokenizer
        self.token_view.set_alignment(alignment, self.mode)

    def _on_job_started(self, name: str) -> None:
        self._set_busy(True)
        self.status_label.setText(f"{name}…")

    def _on_job_progress(self, fraction: float, message: str) -> None:
        self.progress_bar.setValue(int(fraction * 1000))
        self.status_label.setText(message)

    def _on_job_cancelled(self, name: str) -> None:
        self.status_label.setText(f"{name}: cancelled.")
        self._set_busy(self.runner.is_busy)

    def _on_job_failed(self, name: str, message: str) -> None:
        self.status_label.setText(f"{name} failed: {message}")

    def _set_busy(self, busy: bool) -> None:
        self.run_button.setEnabled(not busy)
        self.tokens_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        if not busy:
            self.progress_bar.setValue(0)
        self.fairness_view.set_busy(busy)
        self.compare_view.set_busy(busy)

    # Views ---------------------------------------------------------------------------------

    def _show_results(self) -> None:
        if self.analysis is None:
            return
        index = self.selected_pair_index()
        text = f"mean over {len(self.analysis.pairs)} pairs" if index is None else f"pair {index + 1}"
        self.divergence_plot.set_analysis(self.analysis, index, text)
        self.metrics_table.set_analysis(self.analysis, index, text)
        self.heatmap_plot.set_analysis(self.analysis, self.detail_pair_index())
        self.pca_plot.set_analysis(self.analysis, self.detail_pair_index())
        self.compare_view.set_analysis(self.analysis, index, text)
        if index is not None:
            result = self.analysis.pairs[index]
            self.token_view.set_alignment(result.alignment, result.mode)

    def _show_alignment_of(self, pair) -> None:
        try:
            self.token_view.set_alignment(align_tokens(self.tokenizer, pair.prompt_a, pair.prompt_b), self.mode)
        except ValueError as error:
            self.token_view.show_message(str(error))

    def _on_current_pair_change(self, row: int) -> None:
        pair = self.pairs_editor.pair_at(row)
        if pair is None:
            self.token_view.show_message("Select a complete pair (both prompts filled in).")
        elif self.tokenizer is None:
            self.token_view.show_message("Press 'Show tokens' or Analyse to load the tokenizer.")
        else:
            self._show_alignment_of(pair)

    def _on_pairs_change(self) -> None:
        if self.analysis is not None:
            self.status_label.setText("The pairs changed since the last analysis; press Analyse to update the results.")
        self._on_current_pair_change(self.pairs_editor.current_row())

    def _on_mode_change(self, mode: str) -> None:
        if self.token_view.alignment is not None:
            self.token_view.set_alignment(self.token_view.alignment, mode)
        if self.analysis is not None and self.analysis.mode != mode:
            self.status_label.setText(f"The results use the {self.analysis.mode} comparison; press Analyse to use {mode}.")

    def _on_block_selected(self, block_idx: int) -> None:
        self.block_idx = block_idx
        self.block_label.setText(f"Block: {block_idx}")
        self.divergence_plot.set_block(block_idx)
        self.heatmap_plot.set_block(block_idx)
        self.pca_plot.set_block(block_idx)
        self.fairness_view.set_block(block_idx)
        self.compare_view.set_block(block_idx)

    def _on_model_opened(self) -> None:
        """Drop every result: they belong to the previous model."""
        self._generation += 1
        self.runner.cancel()
        self.analysis = None
        self.tokenizer = None
        self.pair_combo.blockSignals(True)
        self.pair_combo.clear()
        self.pair_combo.addItem(ALL_PAIRS, None)
        self.pair_combo.blockSignals(False)
        self.divergence_plot.clear()
        self.heatmap_plot.clear()
        self.pca_plot.clear()
        self.metrics_table.clear()
        self.fairness_view.clear()
        self.compare_view.clear()
        self.token_view.show_message("A new model was opened; press 'Show tokens' or Analyse.")
        self.status_label.setText("A new model was opened; press Analyse.")
        self._set_busy(False)
