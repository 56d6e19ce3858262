"""Progress bar, message and Cancel button for the jobs of one JobRunner."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from optipfair_desktop.gui.worker import JobRunner


class JobBar(QWidget):
    def __init__(self, runner: JobRunner, parent=None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.message = QLabel("Ready")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setMaximumWidth(220)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self.cancel_button.clicked.connect(runner.cancel)
        self.cancel_button.clicked.connect(lambda: self.message.setText("Cancelling..."))
        runner.sigStarted.connect(self._on_started)
        runner.sigProgress.connect(self._on_progress)
        runner.sigFinished.connect(lambda name, _: self._on_done(f"{name}: done"))
        runner.sigFailed.connect(lambda name, message: self._on_done(f"{name} failed: {message}"))
        runner.sigCancelled.connect(lambda name: self._on_done(f"{name}: cancelled"))

    def _on_started(self, name: str) -> None:
        self.cancel_button.setEnabled(True)
        self.bar.setValue(0)
        self.message.setText(f"{name}...")

    def _on_progress(self, fraction: float, message: str) -> None:
        self.bar.setValue(int(fraction * 1000))
        self.message.setText(message)

    def _on_done(self, text: str) -> None:
        self.cancel_button.setEnabled(False)
        self.bar.setValue(0)
        self.message.setText(text)
