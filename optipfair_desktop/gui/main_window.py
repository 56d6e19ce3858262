"""Main window: assembles the diagram, the panels and the actions, with no panel logic of its own."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from optipfair_desktop import __version__
from optipfair_desktop.engine.plan import PlanError, PruningPlan
from optipfair_desktop.engine.plan_check import check_identity
from optipfair_desktop.gui import settings as app_settings
from optipfair_desktop.gui.diagram.layer_stack import LayerStackView
from optipfair_desktop.gui.jobs import open_model_job, save_checkpoint_job
from optipfair_desktop.gui.open_actions import ask_cached_repo, ask_folder, ask_gguf
from optipfair_desktop.gui.panels.job_bar import JobBar
from optipfair_desktop.gui.panels.log_panel import LogPanel
from optipfair_desktop.gui.panels.protection_panel import ProtectionPanel
from optipfair_desktop.gui.panels.summary_panel import SummaryPanel
from optipfair_desktop.gui.panels.width_panel import WidthPanel
from optipfair_desktop.gui.save_dialog import ask_output_folder
from optipfair_desktop.gui.session import Session
from optipfair_desktop.gui.worker import JobRunner

logger = logging.getLogger(__name__)

# Analysis panels shown as tabs on the right: (tab title, module, class).
ANALYSIS_PANELS = (
    ("Importance", "optipfair_desktop.gui.importance.panel", "ImportancePanel"),
    ("Bias", "optipfair_desktop.gui.bias.panel", "BiasPanel"),
    ("Benchmarks", "optipfair_desktop.gui.bench.panel", "BenchPanel"),
)


def _folder_name(name: str) -> str:
    """Turn a model's display name into a safe folder name, for example for a save suggestion."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "-" for c in name.split(" (")[0])
    return cleaned.strip("-.") or "model"


class MainWindow(QMainWindow):
    sigSaveFinished = Signal(object)

    def __init__(self, settings=None) -> None:
        super().__init__()
        self.settings = settings or app_settings.open_settings()
        self.session = Session(self)
        self.session.set_protection(
            app_settings.read(self.settings, app_settings.PROTECTED_FIRST),
            app_settings.read(self.settings, app_settings.PROTECTED_LAST),
        )
        self.runner = JobRunner(self)
        self.last_save = None
        self.last_error: str | None = None
        self.setWindowTitle(f"OptiPFair Desktop {__version__}")

        self.diagram = LayerStackView(self.session)
        self.setCentralWidget(self.diagram)
        self.width_panel = WidthPanel(self.session)
        self.summary_panel = SummaryPanel(self.session)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.summary_panel)
        self.protection_panel = ProtectionPanel(self.session)
        self.protection_panel.sigProtectionEdited.connect(self._on_protection_edited)
        left_layout.addWidget(self.protection_panel)
        left_layout.addWidget(self.width_panel, 1)
        plan_dock = self._add_dock("Plan", left, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.resizeDocks([plan_dock], [320], Qt.Orientation.Horizontal)

        self.analysis_tabs = QTabWidget()
        self.analysis_panels: dict[str, QWidget] = {}
        for title, module_name, class_name in ANALYSIS_PANELS:
            panel = self._optional_panel(module_name, class_name)
            if panel is not None:
                self.analysis_panels[title] = panel
                # A scroll area lets a panel with many controls shrink without widening the window.
                scroll = QScrollArea()
                scroll.setWidgetResizable(True)
                scroll.setWidget(panel)
                self.analysis_tabs.addTab(scroll, title)
        if self.analysis_panels:
            analysis_dock = self._add_dock("Analysis", self.analysis_tabs, Qt.DockWidgetArea.RightDockWidgetArea)
            self.resizeDocks([analysis_dock], [760], Qt.Orientation.Horizontal)

        self.log_panel = LogPanel()
        log_dock = self._add_dock("Log", self.log_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.resizeDocks([log_dock], [110], Qt.Orientation.Vertical)
        self.job_bar = JobBar(self.runner)
        self.statusBar().addPermanentWidget(self.job_bar, 1)

        self._create_actions()
        self.session.sigModelOpened.connect(self._on_model_change)
        self.session.sigPlanChanged.connect(self._update_actions)
        self.runner.sigFailed.connect(self._on_job_failed)
        self.runner.sigStarted.connect(lambda _: self._update_actions())
        self.runner.sigIdle.connect(self._update_actions)
        self.runner.sigCancelled.connect(lambda _: self._update_actions())
        self._update_actions()
        self.resize(1600, 1000)
        geometry = app_settings.read(self.settings, app_settings.WINDOW_GEOMETRY)
        if geometry:
            self.restoreGeometry(geometry)

    def _add_dock(self, title: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _optional_panel(self, module_name: str, class_name: str) -> QWidget | None:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name and module_name.startswith(error.name):
                return None
            raise
        return getattr(module, class_name)(self.session)

    def _create_actions(self) -> None:
        menu = self.menuBar().addMenu("&File")
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main_toolbar")

        def action(text, slot, shortcut=None, on_toolbar=True):
            item = QAction(text, self)
            item.triggered.connect(slot)
            if shortcut:
                item.setShortcut(QKeySequence(shortcut))
            menu.addAction(item)
            if on_toolbar:
                toolbar.addAction(item)
            return item

        self.open_folder_action = action("Open folder...", lambda: self._open(ask_folder(self)), "Ctrl+O")
        self.open_gguf_action = action("Open GGUF...", lambda: self._open(ask_gguf(self)))
        self.open_cache_action = action("Open from HF cache...", lambda: self._open(ask_cached_repo(self)))
        self.open_demo_action = action("Open demo", lambda: self.open_model("demo"))
        menu.addSeparator()
        toolbar.addSeparator()
        self.load_plan_action = action("Load plan...", self._load_plan)
        self.save_plan_action = action("Save plan...", self._save_plan)
        self.clear_plan_action = action("Clear plan", self._clear_plan)
        toolbar.addSeparator()
        self.save_checkpoint_action = action("Save pruned checkpoint...", self._save_checkpoint, "Ctrl+S")
        menu.addSeparator()
        action("Quit", self.close, "Ctrl+Q", on_toolbar=False)

    # Opening

    def _open(self, spec: str | None) -> None:
        if spec:
            self.open_model(spec)

    def open_model(self, spec: str) -> None:
        self.runner.start(f"Opening {spec}", open_model_job, spec, on_finished=self._on_opened)

    def _on_opened(self, result) -> None:
        source, structure = result
        self.session.open(source, structure)
        app_settings.write(self.settings, app_settings.LAST_MODEL, source.spec)

    def _on_model_change(self) -> None:
        source = self.session.source
        self.setWindowTitle(f"OptiPFair Desktop {__version__} - {source.name}")
        self._update_actions()

    def _on_protection_edited(self, first: int, last: int) -> None:
        app_settings.write(self.settings, app_settings.PROTECTED_FIRST, first)
        app_settings.write(self.settings, app_settings.PROTECTED_LAST, last)

    # Plans

    def _load_plan(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load a pruning plan", "", "Plans (*.json)")
        if path:
            self.load_plan(Path(path))

    def load_plan(self, path: Path) -> bool:
        try:
            plan = PruningPlan.load(path)
            check_identity(self.session.structure, plan)
        except PlanError as error:
            QMessageBox.warning(self, "Plan not loaded", str(error))
            return False
        self.session.set_plan(plan)
        logger.info("Loaded plan %s", path)
        return True

    def _save_plan(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the pruning plan", "pruning_plan.json", "Plans (*.json)")
        if path:
            self.session.plan.save(path)
            logger.info("Saved plan %s", path)

    def _clear_plan(self) -> None:
        self.session.set_plan(PruningPlan(source=self.session.identity()))

    # Saving a checkpoint

    def _save_checkpoint(self) -> None:
        session = self.session
        if session.plan_error or session.plan.is_empty:
            QMessageBox.information(self, "Nothing to save", session.plan_error or "The plan cuts nothing yet.")
            return
        parent = app_settings.read(self.settings, app_settings.LAST_SAVE_PARENT) or str(Path.home())
        suggestion = Path(parent) / f"{_folder_name(session.source.name)}-pruned"
        choice = ask_output_folder(self, suggestion, [session.source.folder, session.source.original_path])
        if choice is not None:
            self.save_checkpoint(*choice)

    def save_checkpoint(self, output_dir: Path, overwrite: bool = False) -> None:
        app_settings.write(self.settings, app_settings.LAST_SAVE_PARENT, str(Path(output_dir).parent))
        self.runner.start(
            "Saving checkpoint", save_checkpoint_job, self.session, self.session.plan, Path(output_dir),
            overwrite=overwrite, on_finished=self._on_saved,
        )

    def _on_saved(self, result) -> None:
        self.last_save = result
        save = result.save
        text = (
            f"Saved to {save.output_dir}\n\n{result.prune.model.config.num_hidden_layers} blocks, "
            f"{save.params / 1e6:.2f} M parameters, {save.bytes_on_disk / 1e6:.1f} MB of weights.\n"
            "Reloaded with AutoModelForCausalLM.from_pretrained: logits identical on the check input."
        )
        logger.info(text.replace("\n", " "))
        self.sigSaveFinished.emit(result)
        if self.isVisible():
            QMessageBox.information(self, "Checkpoint saved", text)

    def _on_job_failed(self, name: str, message: str) -> None:
        self.last_error = f"{name} failed: {message}"
        if self.isVisible():
            QMessageBox.warning(self, f"{name} failed", message)

    def _update_actions(self) -> None:
        has_model = self.session.structure is not None
        busy = self.runner.is_busy
        for item in (self.load_plan_action, self.save_plan_action, self.clear_plan_action):
            item.setEnabled(has_model)
        plan_ok = has_model and not self.session.plan_error and not self.session.plan.is_empty
        self.save_checkpoint_action.setEnabled(plan_ok and not busy)

    def closeEvent(self, event) -> None:
        # Qt aborts the process if a QThread object is destroyed while running, so every job
        # is cancelled and joined before the window goes away.
        for runner in self.findChildren(JobRunner):
            if not runner.shutdown():
                logger.warning("A background job did not stop within 10 s of closing the window")
        app_settings.write(self.settings, app_settings.WINDOW_GEOMETRY, self.saveGeometry())
        self.log_panel.detach()
        super().closeEvent(event)
