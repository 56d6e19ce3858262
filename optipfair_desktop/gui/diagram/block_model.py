"""Qt item model of the block stack: one row per block of the open model, in block_idx order."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from optipfair_desktop.engine.plan_check import params_per_neuron_pair
from optipfair_desktop.gui.session import Session

BlockRole = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True)
class BlockRow:
    """Facts of one block that the delegate paints."""

    block_idx: int
    params: int
    planned_params: int
    intermediate_size: int | None
    planned_width: int | None
    expansion_rate: float | None
    heads: str
    layer_type: str | None
    removed: bool
    protected: bool
    score: float | None
    score_range: tuple[float, float] | None
    score_rank: float | None  # 0 = least important known score, 1 = most important
    criterion: str | None


class BlockListModel(QAbstractListModel):
    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self._rows: list[BlockRow] = []
        session.sigModelOpened.connect(self._on_model_change)
        session.sigPlanChanged.connect(self._on_plan_change)
        session.sigBlockScoresChanged.connect(self._on_plan_change)
        session.sigProtectionChanged.connect(self._on_plan_change)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == BlockRole:
            return row
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            state = "removed" if row.removed else "kept"
            return f"Block {row.block_idx}, {state}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row)
        return None

    def row(self, block_idx: int) -> BlockRow:
        return self._rows[block_idx]

    def _tooltip(self, row: BlockRow) -> str:
        lines = [f"Block {row.block_idx}: {row.params:,} parameters"]
        if row.intermediate_size:
            lines.append(f"MLP width {row.intermediate_size} ({row.expansion_rate:.1f}% of hidden_size)")
        if row.planned_width and row.planned_width != row.intermediate_size:
            lines.append(f"Planned MLP width {row.planned_width}")
        lines.append(f"Attention heads / KV heads: {row.heads}")
        if row.layer_type:
            lines.append(f"Layer type: {row.layer_type}")
        if row.criterion:
            value = "unknown (not computed)" if row.score is None else f"{row.score:.4f}"
            lines.append(f"Importance ({row.criterion}): {value}")
        if row.protected:
            lines.append("Protected: removing it asks for confirmation")
        lines.append("Click or press Space to toggle removal")
        return "\n".join(lines)

    def _on_model_change(self) -> None:
        self.beginResetModel()
        self._rows = self._build_rows()
        self.endResetModel()

    def _on_plan_change(self) -> None:
        rows = self._build_rows()
        if len(rows) != len(self._rows):
            self.beginResetModel()
            self._rows = rows
            self.endResetModel()
            return
        self._rows = rows
        if rows:
            self.dataChanged.emit(self.index(0), self.index(len(rows) - 1))

    def _build_rows(self) -> list[BlockRow]:
        session = self.session
        structure = session.structure
        if structure is None:
            return []
        protected = session.protected_blocks()

        # Colours follow each known score's rank, so one outlier does not flatten the others.
        criterion = session.score_criterion
        scores = session.block_scores.get(criterion) if criterion else None
        known = sorted(s for s in (scores or []) if s is not None)
        score_range = (known[0], known[-1]) if known else None
        ranks: dict[float, float] = {}
        for position, value in enumerate(known):
            ranks.setdefault(value, position / max(len(known) - 1, 1))

        per_neuron = params_per_neuron_pair(structure)
        rows = []
        for block in structure.blocks:
            planned_width = session.planned_width(block.block_idx)
            planned_params = block.params
            if planned_width is not None and block.intermediate_size:
                planned_params -= (block.intermediate_size - planned_width) * per_neuron
            score = scores[block.block_idx] if scores and block.block_idx < len(scores) else None
            rows.append(BlockRow(
                block_idx=block.block_idx,
                params=block.params,
                planned_params=planned_params,
                intermediate_size=block.intermediate_size,
                planned_width=planned_width,
                expansion_rate=block.expansion_rate,
                heads=f"{block.num_attention_heads}/{block.num_key_value_heads}",
                layer_type=block.layer_type,
                removed=block.block_idx in session.plan.remove_blocks,
                protected=block.block_idx in protected,
                score=score,
                score_range=score_range,
                score_rank=ranks.get(score) if score is not None else None,
                criterion=criterion,
            ))
        return rows
