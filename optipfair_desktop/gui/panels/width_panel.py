"""Width targets for the GLU MLPs: percentage or expansion rate, criterion, divisor, per-block override."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from optipfair_desktop.engine.plan import DIVISORS, PlanError, WidthTarget
from optipfair_desktop.engine.plan_check import kept_width
from optipfair_desktop.gui.session import Session

CRITERIA = [
    ("ppm", "PPM / MAW: weight range (max + |min|) of gate and up rows"),
    ("vow", "VOW: variance of gate and up rows"),
    ("pon", "PON: product of L1 norms of gate and up rows"),
    ("l2", "L2: sum of L2 norms of gate and up rows"),
    ("hybrid", "Hybrid: weight ranges x activation norms (needs calibration)"),
]
MODE_DEFAULTS = {"percent": 20.0, "expansion_rate": 200.0}
MODES = [("none", "No width pruning"), ("percent", "Prune a percentage"), ("expansion_rate", "Target expansion rate")]


class WidthPanel(QWidget):
    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self._updating = False

        self.mode = QComboBox()
        for key, label in MODES:
            self.mode.addItem(label, key)
        self.value = QDoubleSpinBox()
        self.value.setDecimals(1)
        self.value.setRange(0.0, 1000.0)
        self.value.setSuffix(" %")
        self.criterion = QComboBox()
        for key, label in CRITERIA:
            self.criterion.addItem(label.split(":")[0], key)
            self.criterion.setItemData(self.criterion.count() - 1, label, 3)  # tooltip role
        self.divisor = QComboBox()
        self.divisor.addItem("none", None)
        for divisor in DIVISORS:
            self.divisor.addItem(str(divisor), divisor)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020;")
        self.error.setAccessibleName("Width target error")

        form = QFormLayout()
        form.addRow("Target", self.mode)
        form.addRow("Value", self.value)
        form.addRow("Criterion", self.criterion)
        form.addRow("Round kept width down to a multiple of", self.divisor)
        all_blocks = QGroupBox("All blocks")
        all_blocks.setLayout(form)

        self.override_block = QSpinBox()
        self.override_enabled = QCheckBox("Own target for block")
        self.override_mode = QComboBox()
        for key, label in [("percent", "Prune a percentage"), ("expansion_rate", "Target expansion rate")]:
            self.override_mode.addItem(label, key)
        self.override_value = QDoubleSpinBox()
        self.override_value.setRange(0.0, 1000.0)
        self.override_value.setDecimals(1)
        self.override_value.setSuffix(" %")
        self.override_apply = QPushButton("Set override")
        self.override_clear = QPushButton("Clear")
        self.overrides_label = QLabel()
        self.overrides_label.setWordWrap(True)
        override_row = QHBoxLayout()
        override_row.addWidget(self.override_block)
        override_row.addWidget(self.override_mode)
        override_row.addWidget(self.override_value)
        buttons = QHBoxLayout()
        buttons.addWidget(self.override_apply)
        buttons.addWidget(self.override_clear)
        overrides = QGroupBox("Per-block override (0 % keeps the block whole)")
        override_layout = QVBoxLayout(overrides)
        override_layout.addLayout(override_row)
        override_layout.addLayout(buttons)
        override_layout.addWidget(self.overrides_label)

        layout = QVBoxLayout(self)
        layout.addWidget(all_blocks)
        layout.addWidget(self.result)
        layout.addWidget(self.error)
        layout.addWidget(overrides)
        layout.addStretch(1)

        self.mode.currentIndexChanged.connect(self._on_mode_change)
        self.value.valueChanged.connect(self._on_edit)
        self.criterion.currentIndexChanged.connect(self._on_edit)
        self.divisor.currentIndexChanged.connect(self._on_edit)
        self.override_apply.clicked.connect(self._on_override_apply)
        self.override_clear.clicked.connect(self._on_override_clear)
        self.override_block.valueChanged.connect(self._show_override_of_block)
        session.sigModelOpened.connect(self._on_model_change)
        session.sigPlanChanged.connect(self._on_plan_change)
        session.sigBlockSelected.connect(self.override_block.setValue)
        self._on_model_change()

    # Reading the widgets into the plan.

    def width_target(self) -> WidthTarget | None:
        mode = self.mode.currentData()
        if mode == "none":
            return None
        return WidthTarget(mode, float(self.value.value()))

    def set_target(self, mode: str, value: float, criterion: str | None = None, divisor: int | None = None) -> None:
        """Set the controls as a user would; the plan follows through the change signals."""
        self.mode.setCurrentIndex(self.mode.findData(mode))
        self.value.setValue(value)
        if criterion is not None:
            self.criterion.setCurrentIndex(self.criterion.findData(criterion))
        self.divisor.setCurrentIndex(self.divisor.findData(divisor) if divisor else 0)

    def _on_mode_change(self) -> None:
        # A percentage and an expansion rate live on different scales, so switching the mode
        # starts from a typical value of the new one instead of carrying the old number over.
        if not self._updating:
            default = MODE_DEFAULTS.get(self.mode.currentData())
            if default is not None:
                self._updating = True
                self.value.setValue(default)
                self._updating = False
        self._on_edit()

    def _on_edit(self) -> None:
        if self._updating or self.session.structure is None:
            return
        mode = self.mode.currentData()
        self.value.setEnabled(mode != "none")
        if mode == "expansion_rate" and self.value.value() == 0:
            return
        method = self.criterion.currentData()
        plan = self.session.plan.replace(width=self.width_target(), method=method, divisor=self.divisor.currentData())
        if method == "hybrid" and self.session.activation_norms is None:
            self.error.setText("The hybrid criterion needs calibration: run an importance analysis first.")
        if method == "hybrid" and self.session.activation_norms is not None:
            plan = plan.replace(calibration=plan.calibration or {"source": "importance panel"})
        self.session.set_plan(plan)

    def _on_override_apply(self) -> None:
        block_idx = self.override_block.value()
        target = WidthTarget(self.override_mode.currentData(), float(self.override_value.value()))
        structure = self.session.structure
        block = structure.blocks[block_idx]
        if target.value != 0 or target.mode != "percent":
            try:
                kept_width(block.intermediate_size, structure.hidden_size, target, self.session.plan.divisor, block_idx)
            except PlanError as error:
                self.error.setText(str(error))
                return
        overrides = dict(self.session.plan.block_overrides)
        overrides[block_idx] = target
        self.session.set_plan(self.session.plan.replace(block_overrides=overrides))

    def _on_override_clear(self) -> None:
        overrides = dict(self.session.plan.block_overrides)
        overrides.pop(self.override_block.value(), None)
        self.session.set_plan(self.session.plan.replace(block_overrides=overrides))

    # Showing the plan.

    def _on_model_change(self) -> None:
        structure = self.session.structure
        enabled = structure is not None and structure.has_glu_mlp
        self.setEnabled(enabled)
        if structure is None:
            self.result.setText("Open a model to set width targets.")
            return
        if not structure.has_glu_mlp:
            self.result.setText(f"{structure.model_type} has no gate/up/down MLP, so width pruning is not offered.")
            return
        self.override_block.setRange(0, structure.num_blocks - 1)
        self._updating = True
        self.mode.setCurrentIndex(0)
        self.value.setValue(200.0)
        self.divisor.setCurrentIndex(0)
        self._updating = False
        self.value.setEnabled(False)
        self._on_plan_change()

    def _on_plan_change(self) -> None:
        session = self.session
        if session.structure is None:
            return
        plan = session.plan
        self._sync_controls(plan)
        self.error.setText(session.plan_error or "")
        summary = session.summary
        if summary is None:
            self.result.setText("")
        else:
            widths = sorted(set(summary.widths.values()))
            original = sorted({b.intermediate_size for b in session.structure.blocks if b.intermediate_size})
            text = f"MLP width {', '.join(map(str, original))} \u2192 {', '.join(map(str, widths))}"
            if summary.padding_params:
                text += (
                    f"<br><b>Blocks get different widths.</b> transformers stores one intermediate_size, so the "
                    f"saved checkpoint pads narrower MLPs with zero neuron pairs up to {summary.stored_width}: "
                    f"{summary.padding_params / 1e6:.2f} M extra parameters "
                    f"({summary.padding_bytes / 1e6:.1f} MB), same outputs, no speed-up for the padded part."
                )
            self.result.setText(text)
        overrides = ", ".join(f"{i}: {t.describe()}" for i, t in sorted(plan.block_overrides.items()))
        self.overrides_label.setText(f"Overrides: {overrides}" if overrides else "No overrides")

    def _sync_controls(self, plan) -> None:
        # Write back a plan loaded from a file without echoing it into a new plan.
        self._updating = True
        try:
            mode = plan.width.mode if plan.width else "none"
            self.mode.setCurrentIndex(self.mode.findData(mode))
            if plan.width:
                self.value.setValue(plan.width.value)
            self.value.setEnabled(mode != "none")
            self.criterion.setCurrentIndex(self.criterion.findData(plan.method))
            self.divisor.setCurrentIndex(self.divisor.findData(plan.divisor) if plan.divisor else 0)
        finally:
            self._updating = False

    def _show_override_of_block(self, block_idx: int) -> None:
        target = self.session.plan.block_overrides.get(block_idx)
        self.override_enabled.setChecked(target is not None)
        if target is not None:
            self.override_mode.setCurrentIndex(self.override_mode.findData(target.mode))
            self.override_value.setValue(target.value)
