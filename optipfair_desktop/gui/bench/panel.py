"""Benchmark panel: compare the original, the planned model and saved checkpoints.

Speed (prefill and decode tokens/s), memory and perplexity are measured in a worker job. The
results go into the history file in the user data folder, so they are visible on the next start.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from optipfair_desktop.engine.bench import BenchHistory, BenchRecord
from optipfair_desktop.engine.bench.candidates import plan_summary, plan_to_dict
from optipfair_desktop.engine.bench.export import write_csv
from optipfair_desktop.engine.bench.machine import machine_info
from optipfair_desktop.gui.bench.charts import SpeedCharts
from optipfair_desktop.gui.bench.generations_tab import GenerationsTab
from optipfair_desktop.gui.bench.jobs import (
    benchmark_job,
    checkpoint_candidate,
    generations_job,
    original_candidate,
    planned_candidate,
)
from optipfair_desktop.gui.bench.model_choice import ModelChoiceBox
from optipfair_desktop.gui.bench.quality_plot import QualityScatter
from optipfair_desktop.gui.bench.results_table import ResultsTable
from optipfair_desktop.gui.bench.settings_box import BenchSettingsBox
from optipfair_desktop.gui.bench.summary_text import comparison_html, record_caption
from optipfair_desktop.gui.panels.job_bar import JobBar
from optipfair_desktop.gui.worker import JobRunner

logger = logging.getLogger(__name__)

BENCHMARK_JOB = "Benchmark"
GENERATIONS_JOB = "Generations"


class BenchPanel(QWidget):
    """Benchmarks of the open model against its plan and saved checkpoints."""

    sigRecordAdded = Signal(object)  # a finished BenchRecord, after it was shown and kept
    sigGenerationsShown = Signal()

    def __init__(self, session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = JobRunner(self)
        self.history = BenchHistory()
        self.records: list[BenchRecord] = []
        self.last_record: BenchRecord | None = None

        self.model_choice = ModelChoiceBox()
        self.settings_box = BenchSettingsBox()
        self.run_button = QPushButton("Run benchmark")
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.comparison_label = QLabel()
        self.comparison_label.setWordWrap(True)
        self.comparison_label.setTextFormat(Qt.TextFormat.RichText)
        self.charts = SpeedCharts()
        self.scatter = QualityScatter()
        self.table = ResultsTable()
        self.export_button = QPushButton("Export CSV...")
        self.clear_button = QPushButton("Clear history")
        self.history_label = QLabel()
        self.generations = GenerationsTab()
        self.job_bar = JobBar(self.runner)
        self.tabs = QTabWidget()

        self._build_layout()
        self._connect()
        self._refresh_availability()
        self._load_history()

    def _build_layout(self) -> None:
        controls = QWidget()
        controls_layout = QHBoxLayout(controls)
        controls_layout.setContentsMargins(0, 0, 0, 0)
        controls_layout.addWidget(self.model_choice, 1)
        controls_layout.addWidget(self.settings_box, 1)

        results = QWidget()
        results_layout = QVBoxLayout(results)
        results_layout.setContentsMargins(0, 0, 0, 0)
        run_row = QHBoxLayout()
        run_row.addWidget(self.run_button)
        run_row.addWidget(self.caption, 1)
        results_layout.addLayout(run_row)
        results_layout.addWidget(self.comparison_label)
        results_layout.addWidget(self.charts, 1)

        scroll = QScrollArea()
        scroll.setWidget(controls)
        scroll.setWidgetResizable(True)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(scroll)
        splitter.addWidget(results)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        # Start with the whole form visible; the user can drag the handle for bigger charts.
        splitter.setSizes([controls.sizeHint().height(), 10 * controls.sizeHint().height()])

        table_tab = QWidget()
        table_layout = QVBoxLayout(table_tab)
        buttons = QHBoxLayout()
        buttons.addWidget(self.history_label, 1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.clear_button)
        table_layout.addLayout(buttons)
        table_layout.addWidget(self.table, 1)

        self.tabs.addTab(splitter, "Speed and memory")
        self.tabs.addTab(self.scatter, "Quality against speed")
        self.tabs.addTab(table_tab, "Results")
        self.tabs.addTab(self.generations, "Generations")
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.job_bar)

    def _connect(self) -> None:
        self.run_button.clicked.connect(self.start_benchmark)
        self.generations.sigRunRequested.connect(self.start_generations)
        self.export_button.clicked.connect(self._ask_export)
        self.clear_button.clicked.connect(self.clear_history)
        self.session.sigModelOpened.connect(self._on_model_opened)
        self.session.sigPlanChanged.connect(self._refresh_availability)
        self.runner.sigStarted.connect(lambda _: self._set_running(True))
        for signal in (self.runner.sigFinished, self.runner.sigFailed):
            signal.connect(lambda *_: self._set_running(False))
        self.runner.sigCancelled.connect(lambda _: self._set_running(False))

    # Session changes

    def _refresh_availability(self) -> None:
        has_model = getattr(self.session, "source", None) is not None
        plan = getattr(self.session, "plan", None)
        plan_ok = has_model and plan is not None and not getattr(plan, "is_empty", True) \
            and not getattr(self.session, "plan_error", None)
        text = plan_summary(plan_to_dict(plan)) if plan_ok else "no plan yet (remove blocks or set a width)"
        self.model_choice.set_available(has_model, plan_ok, text)

    def _on_model_opened(self) -> None:
        self.last_record = None
        self.charts.clear()
        self.comparison_label.clear()
        self.caption.setText(self._machine_text())
        self.generations.show_rows([], [])
        self._refresh_availability()

    # Jobs

    def candidates(self) -> list:
        """Candidates in baseline-first order: original, planned, then checked folders."""
        chosen = []
        if self.model_choice.use_original():
            chosen.append(original_candidate(self.session))
        if self.model_choice.use_planned():
            chosen.append(planned_candidate(self.session))
        chosen += [checkpoint_candidate(folder) for folder in self.model_choice.folders()]
        return chosen

    def start_benchmark(self) -> None:
        try:
            settings = self.settings_box.settings()
            candidates = self.candidates()
            if not candidates:
                raise ValueError("No model chosen; check the original, the planned model or a checkpoint folder.")
        except ValueError as error:
            self.job_bar.message.setText(str(error))
            return
        self.runner.start(BENCHMARK_JOB, benchmark_job, candidates, settings, self.settings_box.perplexity_files(),
                          on_finished=self._on_benchmark_finished)

    def start_generations(self) -> None:
        candidates = self.candidates()
        if not candidates:
            self.job_bar.message.setText("No model chosen; check at least one model on the first tab.")
            return
        self.runner.start(GENERATIONS_JOB, generations_job, candidates, self.generations.prompts(),
                          self.generations.max_new_tokens(), self.settings_box.device_combo.currentText(),
                          on_finished=self._on_generations_finished)

    def cancel(self) -> None:
        self.runner.cancel()

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.generations.run_button.setEnabled(not running)

    def _on_benchmark_finished(self, record: BenchRecord) -> None:
        try:
            self.history.append(record)
        except OSError as error:
            logger.error("Could not add the benchmark to %s: %s", self.history.path, error)
        self.records.append(record)
        self.show_record(record)
        self._show_history()
        self.sigRecordAdded.emit(record)

    def _on_generations_finished(self, result) -> None:
        labels, rows = result
        self.generations.show_rows(labels, rows)
        self.sigGenerationsShown.emit()

    # Results

    def show_record(self, record: BenchRecord) -> None:
        self.last_record = record
        self.charts.show_record(record)
        self.caption.setText(record_caption(record))
        self.comparison_label.setText(comparison_html(record))

    def _load_history(self) -> None:
        self.records = self.history.load()
        self._show_history()
        if self.records:
            self.show_record(self.records[-1])
        else:
            self.caption.setText(self._machine_text())

    def _show_history(self) -> None:
        self.table.set_records(self.records)
        self.scatter.set_records(self.records)
        self.history_label.setText(f"{len(self.records)} benchmarks kept in {self.history.path}")

    def _machine_text(self) -> str:
        machine = machine_info()
        return (f"This machine: {machine.cpu_model}, {machine.physical_cores} cores"
                f"{', ' + machine.gpu if machine.gpu else ''}; torch {machine.torch}, "
                f"transformers {machine.transformers}")

    def add_checkpoint(self, folder: str | Path) -> None:
        self.model_choice.add_folder(folder)

    def export_csv(self, path: str | Path) -> Path:
        return write_csv(self.records, path)

    def _ask_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export benchmark results", "benchmarks.csv", "CSV (*.csv)")
        if path:
            written = self.export_csv(path)
            self.job_bar.message.setText(f"Exported {len(self.records)} benchmarks to {written}")

    def clear_history(self) -> None:
        self.history.clear()
        self.records = []
        self._show_history()
