"""The open model, its plan and the loaded weights, shared by every panel.

Panels never talk to each other; they read and change the session and listen to its signals.
``load_model`` and ``build_planned_model`` may be called from worker threads: a lock makes sure
the weights are loaded once and the planned model is built once per plan.
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, Signal

from optipfair_desktop.engine.plan import PlanError, PruningPlan
from optipfair_desktop.engine.plan_check import PlanSummary, summarize_plan
from optipfair_desktop.engine.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress
from optipfair_desktop.engine.protection import default_protected_blocks
from optipfair_desktop.engine.sources import ModelSource
from optipfair_desktop.engine.structure import ModelStructure

logger = logging.getLogger(__name__)


class Session(QObject):
    sigModelOpened = Signal()
    sigPlanChanged = Signal()
    sigBlockSelected = Signal(int)
    sigBlockScoresChanged = Signal(str)
    sigProtectionChanged = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.source: ModelSource | None = None
        self.structure: ModelStructure | None = None
        self.plan = PruningPlan()
        self.plan_error: str | None = None
        self.summary: PlanSummary | None = None
        self.selected_block: int | None = None
        self.block_scores: dict[str, list[float | None]] = {}
        self.score_criterion: str | None = None
        self.activation_norms = None
        self.protected_first = 4
        self.protected_last = 2
        self._lock = threading.Lock()
        # Increased on every open, so that a job started for one model cannot use the next one.
        self.generation = 0
        self._loaded = None
        self._planned_key: str | None = None
        self._planned = None

    # Opening and plan editing happen on the GUI thread.

    def open(self, source: ModelSource, structure: ModelStructure) -> None:
        with self._lock:
            self._loaded = None
            self._planned = None
            self._planned_key = None
            self.generation += 1
        self.source = source
        self.structure = structure
        self.block_scores = {}
        self.score_criterion = None
        self.activation_norms = None
        self.selected_block = None
        self.plan = PruningPlan(source=self.identity())
        self._refresh_summary()
        logger.info("Opened %s: %d blocks", source.name, structure.num_blocks)
        self.sigModelOpened.emit()
        self.sigPlanChanged.emit()

    def identity(self) -> dict:
        if self.structure is None or self.source is None:
            return {}
        return {**self.structure.identity(), "name": self.source.name}

    def set_plan(self, plan: PruningPlan) -> None:
        if not plan.source:
            plan = plan.replace(source=self.identity())
        self.plan = plan
        self._refresh_summary()
        self.sigPlanChanged.emit()

    def toggle_block(self, block_idx: int) -> None:
        removed = set(self.plan.remove_blocks)
        removed ^= {block_idx}
        self.set_plan(self.plan.replace(remove_blocks=removed))

    def select_block(self, block_idx: int) -> None:
        if block_idx == self.selected_block:
            return
        self.selected_block = block_idx
        self.sigBlockSelected.emit(block_idx)

    def set_block_scores(self, criterion: str, scores: list[float | None]) -> None:
        self.block_scores[criterion] = list(scores)
        self.score_criterion = criterion
        self.sigBlockScoresChanged.emit(criterion)

    def set_protection(self, first: int, last: int) -> None:
        self.protected_first, self.protected_last = first, last
        self.sigProtectionChanged.emit()

    def protected_blocks(self) -> set[int]:
        if self.structure is None:
            return set()
        return default_protected_blocks(self.structure.num_blocks, self.protected_first, self.protected_last)

    def planned_width(self, block_idx: int) -> int | None:
        if self.summary is None:
            return None
        return self.summary.widths.get(block_idx)

    def _refresh_summary(self) -> None:
        if self.structure is None:
            self.summary, self.plan_error = None, None
            return
        try:
            self.summary = summarize_plan(self.structure, self.plan)
            self.plan_error = None
        except PlanError as error:
            self.summary = None
            self.plan_error = str(error)

    # Weight access may run in worker threads.

    def _check_generation(self, generation: int | None) -> None:
        if generation is not None and generation != self.generation:
            raise ValueError("Another model was opened while this job ran; run it again for the open model.")

    def load_model(self, progress: ProgressCallback = no_progress, cancel: CancelToken = NEVER_CANCELLED,
                   generation: int | None = None):
        """Return ``(model, tokenizer)`` of the open source, loading it on the first call.

        ``generation``, read from ``self.generation`` when a job starts, makes the call fail
        instead of returning a model opened after the job started.
        """
        from optipfair_desktop.engine.loading import load_model

        with self._lock:
            self._check_generation(generation)
            if self._loaded is None:
                if self.source is None:
                    raise ValueError("No model is open; open a model first.")
                self._loaded = load_model(self.source, progress=progress, cancel=cancel)
            else:
                progress(1.0, "Model already loaded")
            return self._loaded

    def build_planned_model(self, progress: ProgressCallback = no_progress, cancel: CancelToken = NEVER_CANCELLED,
                            plan: PruningPlan | None = None, generation: int | None = None):
        """Return the ``PruneResult`` of ``plan`` (default: the current plan), built once per plan.

        A job passes the plan and generation it read when it started, so that editing the plan
        or opening another model meanwhile cannot change what it measures.
        """
        from optipfair_desktop.engine.plan_check import validate_plan
        from optipfair_desktop.engine.progress import sub_progress
        from optipfair_desktop.engine.pruning import build_pruned_model

        if plan is None:
            plan = self.plan
            if self.plan_error:
                raise PlanError(self.plan_error)
        model, _ = self.load_model(sub_progress(progress, 0.0, 0.4), cancel, generation)
        validate_plan(self.structure, plan)
        key = plan.to_json()
        with self._lock:
            self._check_generation(generation)
            if self._planned_key != key:
                self._planned = build_pruned_model(
                    model, plan, activation_norms=self.activation_norms,
                    progress=sub_progress(progress, 0.4, 1.0), cancel=cancel,
                )
                self._planned_key = key
            return self._planned
