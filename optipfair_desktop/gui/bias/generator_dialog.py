"""Dialog that fills a template's {attribute} placeholder with attribute values of a category."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from optipfair_desktop.engine.bias.pairs import PLACEHOLDER, PromptPair, attribute_categories, generate_pairs

EXAMPLE_TEMPLATE = f"The {PLACEHOLDER} family moved into the neighborhood. The neighbors felt"


class GeneratorDialog(QDialog):
    """Dialog that previews the pairs a template makes; after Accept, ``generated`` contains them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Generate prompt pairs")
        self.generated: list[PromptPair] = []
        self._categories = attribute_categories()

        self.template_edit = QLineEdit(EXAMPLE_TEMPLATE)
        self.category_combo = QComboBox()
        self.category_combo.setEditable(True)
        self.category_combo.addItems(list(self._categories))
        self.values_edit = QLineEdit()
        self.values_edit.setToolTip("Attribute values separated by commas")
        self.pairing_combo = QComboBox()
        self.pairing_combo.addItem("every two values", "all")
        self.pairing_combo.addItem("first value against each other", "first_vs_rest")
        self.preview_label = QLabel()
        self.preview_label.setWordWrap(True)

        form = QFormLayout()
        form.addRow(f"Template (with {PLACEHOLDER})", self.template_edit)
        form.addRow("Category", self.category_combo)
        form.addRow("Attribute values", self.values_edit)
        form.addRow("Pairing", self.pairing_combo)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.preview_label)
        layout.addWidget(self.buttons)

        self.category_combo.currentTextChanged.connect(self._fill_values)
        self.template_edit.textChanged.connect(self._update_preview)
        self.values_edit.textChanged.connect(self._update_preview)
        self.pairing_combo.currentIndexChanged.connect(self._update_preview)
        self._fill_values(self.category_combo.currentText())

    def _fill_values(self, category: str) -> None:
        if category in self._categories:
            self.values_edit.setText(", ".join(self._categories[category]))
        self._update_preview()

    def _values(self) -> list[str]:
        return [value.strip() for value in self.values_edit.text().split(",") if value.strip()]

    def _update_preview(self) -> None:
        try:
            self.generated = generate_pairs(
                self.template_edit.text(), self.category_combo.currentText().strip() or "custom",
                self._values(), self.pairing_combo.currentData(),
            )
        except ValueError as error:
            self.generated = []
            self.preview_label.setText(str(error))
        else:
            first = self.generated[0]
            self.preview_label.setText(f"{len(self.generated)} pairs, for example:\nA: {first.prompt_a}\nB: {first.prompt_b}")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(self.generated))
