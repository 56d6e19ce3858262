"""Benchmark settings: device, dtype, lengths, repeats and perplexity options."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from optipfair_desktop.engine.bench import BenchSettings, available_devices
from optipfair_desktop.engine.bench.devices import DTYPE_CHOICES


def _spin(minimum: int, maximum: int, value: int, suffix: str = "") -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(minimum, maximum)
    spin.setValue(value)
    if suffix:
        spin.setSuffix(suffix)
    return spin


class BenchSettingsBox(QGroupBox):
    """Form that turns into a :class:`BenchSettings` and a list of perplexity texts."""

    def __init__(self, parent=None) -> None:
        super().__init__("Settings (batch size 1)", parent)
        defaults = BenchSettings()
        self.device_combo = QComboBox()
        self.device_combo.addItems(available_devices())
        self.dtype_combo = QComboBox()
        self.dtype_combo.addItems(DTYPE_CHOICES)
        self.dtype_combo.setToolTip("auto keeps each model's stored dtype")
        self.prompt_spin = _spin(1, 8192, defaults.prompt_length, " tokens")
        self.tokens_spin = _spin(2, 4096, defaults.new_tokens, " tokens")
        self.repeats_spin = _spin(1, 100, defaults.repeats)
        self.warmups_spin = _spin(0, 20, defaults.warmups)
        self.threads_spin = _spin(0, 256, 0)
        self.threads_spin.setSpecialValueText("torch default")
        self.threads_spin.setToolTip("CPU threads for torch during the benchmark; on a busy machine 1 is steadier")
        self.calibration_check = QCheckBox("Perplexity on the calibration text")
        self.calibration_check.setChecked(True)
        self.file_edit = QLineEdit()
        self.file_edit.setPlaceholderText("optional .txt or .jsonl file for perplexity")
        self.file_button = QPushButton("Browse...")
        self.context_spin = _spin(2, 8192, defaults.perplexity_context_length, " tokens")
        self.stride_spin = _spin(1, 8192, defaults.perplexity_stride, " tokens")
        self.max_tokens_spin = _spin(2, 1_000_000, defaults.perplexity_max_tokens or 4096, " tokens")
        self.max_tokens_spin.setToolTip("Only the first tokens of each text are scored, to bound the time")

        file_row = QWidget()
        file_layout = QHBoxLayout(file_row)
        file_layout.setContentsMargins(0, 0, 0, 0)
        file_layout.addWidget(self.file_edit, 1)
        file_layout.addWidget(self.file_button)

        form = QFormLayout(self)
        form.addRow("Device", self.device_combo)
        form.addRow("Dtype", self.dtype_combo)
        form.addRow("Prompt length", self.prompt_spin)
        form.addRow("New tokens", self.tokens_spin)
        form.addRow("Repeats", self.repeats_spin)
        form.addRow("Warm-ups", self.warmups_spin)
        form.addRow("CPU threads", self.threads_spin)
        form.addRow(self.calibration_check)
        form.addRow("Perplexity file", file_row)
        form.addRow("Context length", self.context_spin)
        form.addRow("Stride", self.stride_spin)
        form.addRow("Max tokens per text", self.max_tokens_spin)
        self.file_button.clicked.connect(self._ask_file)

    def settings(self) -> BenchSettings:
        settings = BenchSettings(
            device=self.device_combo.currentText(),
            dtype=self.dtype_combo.currentText(),
            prompt_length=self.prompt_spin.value(),
            new_tokens=self.tokens_spin.value(),
            repeats=self.repeats_spin.value(),
            warmups=self.warmups_spin.value(),
            torch_threads=self.threads_spin.value(),
            perplexity_context_length=self.context_spin.value(),
            perplexity_stride=self.stride_spin.value(),
            perplexity_max_tokens=self.max_tokens_spin.value(),
        )
        settings.check()
        return settings

    def perplexity_files(self) -> list[Path | None]:
        """Texts to score: ``None`` stands for the shipped calibration text."""
        files: list[Path | None] = [None] if self.calibration_check.isChecked() else []
        if self.file_edit.text().strip():
            files.append(Path(self.file_edit.text().strip()).expanduser())
        return files

    def _ask_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Text for perplexity", "", "Text (*.txt *.jsonl)")
        if path:
            self.file_edit.setText(path)
