"""The layer-stack diagram: the main window's centre, one clickable item per decoder block."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QListView, QMessageBox

from optipfair_desktop.gui.diagram.block_delegate import BlockDelegate
from optipfair_desktop.gui.diagram.block_model import BlockListModel
from optipfair_desktop.gui.session import Session


class LayerStackView(QListView):
    """Click a block, or press Space or Delete on it, to toggle its removal."""

    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.block_model = BlockListModel(session, self)
        self.setModel(self.block_model)
        self.setItemDelegate(BlockDelegate(self))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformItemSizes(True)
        self.setMouseTracking(True)
        self.setAccessibleName("Layer stack: decoder blocks")
        self.setMinimumWidth(330)
        # Rows are painted to the view's width; the details are clipped rather than scrolled.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.clicked.connect(self._on_clicked)
        self.selectionModel().currentChanged.connect(self._on_current_change)
        session.sigBlockSelected.connect(self._on_block_selected)

    def confirm_protected_removal(self, block_idx: int) -> bool:
        """Ask before removing a protected block; tests replace this method."""
        answer = QMessageBox.question(
            self,
            "Remove a protected block?",
            f"Block {block_idx} is protected: the first and last blocks usually matter most, "
            "and removing them tends to hurt quality badly. Remove it anyway?",
        )
        return answer == QMessageBox.StandardButton.Yes

    def toggle(self, block_idx: int) -> None:
        session = self.session
        removing = block_idx not in session.plan.remove_blocks
        if removing and block_idx in session.protected_blocks() and not self.confirm_protected_removal(block_idx):
            return
        session.toggle_block(block_idx)

    def keyPressEvent(self, event) -> None:
        index = self.currentIndex()
        if index.isValid() and event.key() in (Qt.Key.Key_Space, Qt.Key.Key_Delete, Qt.Key.Key_Return):
            self.toggle(index.row())
            return
        super().keyPressEvent(event)

    def _on_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.toggle(index.row())

    def _on_current_change(self, current: QModelIndex, previous: QModelIndex) -> None:
        if current.isValid():
            self.session.select_block(current.row())

    def _on_block_selected(self, block_idx: int) -> None:
        index = self.block_model.index(block_idx)
        if index.isValid() and self.currentIndex() != index:
            self.setCurrentIndex(index)
            self.scrollTo(index)
