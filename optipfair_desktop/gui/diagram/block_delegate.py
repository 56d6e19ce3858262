"""Paints one block of the layer stack: index, sizes, planned width, importance colour, removal."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate

from optipfair_desktop.gui.diagram.block_model import BlockRole, BlockRow

ROW_HEIGHT = 34
KEPT_FILL = QColor("#e8f0fb")
REMOVED_FILL = QColor("#f3d6d6")
UNKNOWN_SCORE = QColor("#b0b0b0")


def score_colour(rank_fraction: float | None, has_scores: bool) -> QColor | None:
    """Blue for the least important blocks (cheap to remove), through green and yellow, to red.

    The colour follows the block's rank among the known scores, not the raw value, because one
    outlier (often block 0) would otherwise paint every other block the same blue.
    """
    if not has_scores:
        return None
    if rank_fraction is None:
        return UNKNOWN_SCORE
    hue = int(240 * (1 - rank_fraction))  # 240 = blue, 0 = red
    return QColor.fromHsv(hue, 170, 235)


class BlockDelegate(QStyledItemDelegate):
    def sizeHint(self, option, index) -> QSize:
        return QSize(360, ROW_HEIGHT)

    def paint(self, painter: QPainter, option, index) -> None:
        row: BlockRow = index.data(BlockRole)
        if row is None:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = option.rect.adjusted(4, 2, -4, -2)

        self._paint_background(painter, rect, row, option)
        self._paint_width_bar(painter, rect, row)
        self._paint_text(painter, rect, row)
        if row.removed:
            pen = QPen(QColor("#a01010"), 2)
            painter.setPen(pen)
            middle = rect.center().y()
            painter.drawLine(rect.left() + 6, middle, rect.right() - 6, middle)
        painter.restore()

    def _paint_background(self, painter, rect, row: BlockRow, option) -> None:
        fill = REMOVED_FILL if row.removed else KEPT_FILL
        painter.setBrush(QBrush(fill))
        border = QColor("#3060c0") if option.state & QStyle.StateFlag.State_Selected else QColor("#9aa8bb")
        width = 2 if option.state & QStyle.StateFlag.State_HasFocus else 1
        painter.setPen(QPen(border, width))
        painter.drawRoundedRect(rect, 4, 4)
        colour = score_colour(row.score_rank, row.score_range is not None)
        if colour is not None:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour if not row.removed else colour.lighter(130))
            painter.drawRoundedRect(QRect(rect.left(), rect.top(), 10, rect.height()), 3, 3)
        if row.removed:
            painter.setBrush(QBrush(QColor(160, 16, 16, 40), Qt.BrushStyle.BDiagPattern))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawRoundedRect(rect, 4, 4)

    def _paint_width_bar(self, painter, rect, row: BlockRow) -> None:
        # A thin bar at the bottom: full length = the original MLP width, filled = planned width.
        if not row.intermediate_size:
            return
        bar = QRect(rect.left() + 14, rect.bottom() - 5, rect.width() - 20, 3)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#c8d0dc"))
        painter.drawRect(bar)
        planned = row.planned_width if row.planned_width is not None else row.intermediate_size
        if row.removed:
            return
        filled = QRect(bar.left(), bar.top(), int(bar.width() * planned / row.intermediate_size), bar.height())
        painter.setBrush(QColor("#3868b8") if planned == row.intermediate_size else QColor("#d07020"))
        painter.drawRect(filled)

    def _paint_text(self, painter, rect, row: BlockRow) -> None:
        font = QFont(painter.font())
        font.setStrikeOut(row.removed)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor("#7a1010") if row.removed else QColor("#101820"))
        text_rect = rect.adjusted(16, 0, -8, -5)
        title = f"Block {row.block_idx}"
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, title)

        font.setBold(False)
        painter.setFont(font)
        width = "-"
        if row.intermediate_size:
            width = f"MLP {row.intermediate_size}"
            rate = row.expansion_rate
            if row.planned_width is not None and row.planned_width != row.intermediate_size and not row.removed:
                width += f" \u2192 {row.planned_width}"
                rate = row.expansion_rate * row.planned_width / row.intermediate_size
            width += f" ({rate:.0f}%)"
        params = f"{row.params / 1e6:.2f} M"
        if not row.removed and row.planned_params != row.params:
            params += f" \u2192 {row.planned_params / 1e6:.2f} M"
        query_heads, kv_heads = row.heads.split("/")
        parts = [params, width, f"{query_heads} heads / {kv_heads} KV"]
        if row.layer_type:
            parts.append(row.layer_type.replace("_attention", ""))
        if row.score is not None:
            parts.append(f"{row.criterion} {row.score:.3f}")
        elif row.criterion:
            parts.append(f"{row.criterion} unknown")
        tag = ""
        if row.protected:
            tag = "removed (protected)" if row.removed else "protected"
        elif row.removed:
            tag = "removed"
        metrics = painter.fontMetrics()
        tag_width = metrics.horizontalAdvance(tag) + 12 if tag else 0
        detail_rect = text_rect.adjusted(70, 0, -tag_width, 0)
        details = metrics.elidedText("   ".join(parts), Qt.TextElideMode.ElideRight, max(detail_rect.width(), 0))
        painter.drawText(detail_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, details)
        if tag:
            painter.setPen(QColor("#806000") if row.protected else QColor("#7a1010"))
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, tag)
