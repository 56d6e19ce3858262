"""The stall probe detects a blocked event loop and reports short gaps on an idle one."""

import time

from PySide6.QtCore import QTimer

from optipfair_desktop.gui.stall_probe import StallProbe


def test_probe_measures_blocked_loop(qtbot):
    probe = StallProbe(interval_ms=10, goal_ms=50)
    probe.start()
    QTimer.singleShot(30, lambda: time.sleep(0.2))
    qtbot.wait(400)
    probe.stop()
    assert probe.max_gap_ms >= 200
    assert probe.max_stall_ms >= 190
    assert probe.gaps_over_goal >= 1
    assert probe.ticks > 5
    assert not probe.is_running


def test_probe_idle_loop_has_short_gaps(qtbot):
    probe = StallProbe(interval_ms=10)
    probe.start()
    qtbot.wait(300)
    probe.stop()
    assert probe.ticks > 5
    # Generous: a loaded CI machine can delay a timer, but not by a blocked-loop amount.
    assert probe.max_gap_ms < 250


def test_reset_clears_figures(qtbot):
    probe = StallProbe(interval_ms=10)
    probe.start()
    QTimer.singleShot(20, lambda: time.sleep(0.1))
    qtbot.wait(200)
    probe.reset()
    assert probe.max_gap_ms == 0.0
    assert probe.gaps_over_goal == 0
    probe.stop()
