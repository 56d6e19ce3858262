"""Measure how long the GUI thread's event loop goes without running.

A precise QTimer ticks every ``interval_ms``; when the event loop is blocked, the next tick
comes late. The maximum gap between two ticks is the worst stall a user would have felt,
because a click or a repaint waits at most that long. Use it in tests and benchmark scripts:

    probe = StallProbe()
    probe.start()
    ...  # run a job while the event loop spins
    probe.stop()
    probe.max_gap_ms
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer


MAX_LATE_TICKS = 100


class StallProbe(QObject):
    """Record the maximum gap between ticks of a timer on the thread that owns the probe."""

    def __init__(self, interval_ms: int = 10, goal_ms: float = 50.0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self.goal_ms = goal_ms
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._on_tick)
        self._last_tick: float | None = None
        self.max_gap_ms = 0.0
        self.ticks = 0
        self.gaps_over_goal = 0  # gaps between ticks longer than goal_ms
        self.late_ticks: list[tuple[float, float]] = []  # (perf_counter at the tick, gap in ms), first 100

    @property
    def is_running(self) -> bool:
        return self._timer.isActive()

    @property
    def max_stall_ms(self) -> float:
        """Maximum gap minus the timer interval: the part caused by a blocked event loop."""
        return max(0.0, self.max_gap_ms - self.interval_ms)

    def reset(self) -> None:
        self._last_tick = time.perf_counter() if self.is_running else None
        self.max_gap_ms = 0.0
        self.ticks = 0
        self.gaps_over_goal = 0
        self.late_ticks = []

    def start(self) -> None:
        self.reset()
        self._last_tick = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        if not self.is_running:
            return
        # A stall still under way when the probe stops counts too.
        self._on_tick()
        self._timer.stop()

    def _on_tick(self) -> None:
        now = time.perf_counter()
        if self._last_tick is not None:
            gap_ms = (now - self._last_tick) * 1000.0
            self.max_gap_ms = max(self.max_gap_ms, gap_ms)
            if gap_ms > self.goal_ms:
                self.gaps_over_goal += 1
                if len(self.late_ticks) < MAX_LATE_TICKS:
                    self.late_ticks.append((now, gap_ms))
        self._last_tick = now
        self.ticks += 1
