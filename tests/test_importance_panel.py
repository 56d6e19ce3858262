"""Importance panel driven with qtbot on a tiny model saved to disk and opened in a real Session."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from test_calibration import make_char_tokenizer
from tiny_models import make_tiny_model

from optipfair_desktop.engine.block_scores import BlockScores, select_least_important
from optipfair_desktop.engine.plan import WidthTarget
from optipfair_desktop.engine.sources import ModelSource
from optipfair_desktop.engine.structure import read_structure
from optipfair_desktop.gui.importance.jobs import AnalysisResult
from optipfair_desktop.gui.importance.panel import ImportancePanel
from optipfair_desktop.gui.session import Session

JOB_TIMEOUT_MS = 120_000


@pytest.fixture
def tiny_source(tmp_path):
    folder = tmp_path / "tiny-llama"
    make_tiny_model("llama").save_pretrained(folder)
    make_char_tokenizer(with_bos=True).save_pretrained(folder)
    return ModelSource(str(folder), "folder", folder, "tiny llama", folder)


@pytest.fixture
def panel_and_session(qtbot, tiny_source):
    session = Session()
    session.set_protection(1, 1)
    panel = ImportancePanel(session)
    qtbot.addWidget(panel)
    panel.resize(700, 800)
    panel.show()
    panel.num_windows.setValue(6)
    panel.window_length.setValue(32)
    with qtbot.waitSignal(panel.runner.sigIdle, timeout=JOB_TIMEOUT_MS):
        session.open(tiny_source, read_structure(tiny_source.folder))
    yield panel, session
    panel.runner.cancel()
    panel.neuron_runner.cancel()
    qtbot.waitUntil(lambda: not panel.runner._retired and not panel.neuron_runner._retired, timeout=JOB_TIMEOUT_MS)


def run_analysis(qtbot, panel) -> None:
    # sigIdle comes after the result has been delivered to the panel.
    with qtbot.waitSignal(panel.runner.sigIdle, timeout=JOB_TIMEOUT_MS):
        qtbot.mouseClick(panel.analyze_button, Qt.MouseButton.LeftButton)
    assert panel.error.text() == ""


def click_bar(qtbot, panel, block_idx: int) -> None:
    """Click the middle of a block's bar with the mouse."""
    plot = panel.score_plot.plot
    height = panel.score_plot.bar_values[block_idx]
    scene_point = plot.getViewBox().mapViewToScene(pg_point(block_idx, height / 2))
    widget_point = panel.graphics.mapFromScene(scene_point)
    qtbot.mouseClick(panel.graphics.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(widget_point.x(), widget_point.y()))


def pg_point(x: float, y: float):
    from PySide6.QtCore import QPointF

    return QPointF(x, y)


def test_panel_starts_without_results(panel_and_session):
    panel, session = panel_and_session
    assert panel.scores is None
    assert "No cached results" in panel.status.text()
    assert not panel.select_button.isEnabled()


def test_analysis_shows_bars_and_scores(qtbot, panel_and_session, tmp_path):
    panel, session = panel_and_session
    run_analysis(qtbot, panel)

    assert panel.scores is not None
    assert len(panel.scores.scores) == 6
    assert len(panel.score_plot.bars.opts["height"]) == 6
    assert session.block_scores["cosine"] == panel.scores.scores
    assert session.activation_norms is not None
    assert sorted(session.activation_norms) == list(range(6))
    assert panel.hybrid_button.isEnabled()
    panel.grab().save(str(tmp_path / "panel.png"))


def test_select_least_important_fills_plan(qtbot, panel_and_session):
    panel, session = panel_and_session
    run_analysis(qtbot, panel)
    panel.select_count.setValue(2)
    qtbot.mouseClick(panel.select_button, Qt.MouseButton.LeftButton)

    protected = session.protected_blocks()
    assert protected == {0, 5}
    expected = sorted(select_least_important(panel.scores, 2, protected))
    assert list(session.plan.remove_blocks) == expected
    assert not set(session.plan.remove_blocks) & protected


def test_too_many_blocks_shows_error(qtbot, panel_and_session):
    panel, session = panel_and_session
    run_analysis(qtbot, panel)
    panel.select_count.setValue(5)
    qtbot.mouseClick(panel.select_button, Qt.MouseButton.LeftButton)
    assert "fewer than the 5 requested" in panel.error.text()
    assert session.plan.remove_blocks == ()


def test_bar_click_shows_neuron_scores(qtbot, panel_and_session, tmp_path):
    panel, session = panel_and_session
    run_analysis(qtbot, panel)
    with qtbot.waitSignal(session.sigBlockSelected, timeout=5000) as blocker:
        click_bar(qtbot, panel, 3)
    assert blocker.args == [3]
    qtbot.waitUntil(lambda: panel.neuron_plot.sorted_scores is not None, timeout=JOB_TIMEOUT_MS)

    values = panel.neuron_plot.sorted_scores
    assert values.shape == (256,)
    assert bool(np.all(np.diff(values) <= 0))
    assert panel.neuron_plot.kept_width is None

    session.set_plan(session.plan.replace(width=WidthTarget("percent", 50.0)))
    assert panel.neuron_plot.kept_width == session.planned_width(3) == 128
    assert panel.neuron_plot.cut_line.isVisible()
    panel.grab().save(str(tmp_path / "panel_neurons.png"))


def test_hybrid_criterion_uses_norms(qtbot, panel_and_session):
    panel, session = panel_and_session
    run_analysis(qtbot, panel)
    session.select_block(2)
    qtbot.waitUntil(lambda: panel.neuron_plot.sorted_scores is not None, timeout=JOB_TIMEOUT_MS)
    static = panel.neuron_plot.sorted_scores

    qtbot.mouseClick(panel.hybrid_button, Qt.MouseButton.LeftButton)
    assert session.plan.method == "hybrid"
    assert session.plan.calibration["num_windows"] == 6
    qtbot.waitUntil(lambda: panel.neuron_plot.sorted_scores is not static and panel.neuron_plot.sorted_scores is not None,
                    timeout=JOB_TIMEOUT_MS)
    assert "hybrid" in panel.neuron_plot.plot.titleLabel.text


def test_unknown_scores_are_marked(qtbot, panel_and_session, tmp_path):
    panel, session = panel_and_session
    scores = BlockScores("cosine", [0.5, None, 0.2, 0.1, 0.3, 0.4])
    panel._on_result(AnalysisResult(scores, None, {"source": "test", "num_windows": 1, "window_length": 8}))
    assert len(panel.score_plot.bars.opts["height"]) == 5
    assert panel.score_plot.unknown_blocks == [1]
    assert len(panel.score_plot.unknown_marks.data) == 1
    assert session.block_scores["cosine"][1] is None
    panel.grab().save(str(tmp_path / "panel_unknown.png"))


def test_cancel_stops_analysis(qtbot, panel_and_session):
    panel, session = panel_and_session
    panel.criterion.setCurrentIndex(panel.criterion.findData("perplexity"))
    panel.num_windows.setValue(400)
    with qtbot.waitSignal(panel.runner.sigCancelled, timeout=JOB_TIMEOUT_MS):
        qtbot.mouseClick(panel.analyze_button, Qt.MouseButton.LeftButton)
        qtbot.mouseClick(panel.job_bar.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.runner._retired, timeout=JOB_TIMEOUT_MS)
    assert panel.scores is None
    assert "cancelled" in panel.status.text()
    assert panel.analyze_button.isEnabled()


def test_reopening_reads_cache(qtbot, panel_and_session, tiny_source):
    panel, session = panel_and_session
    run_analysis(qtbot, panel)
    first = panel.scores

    session.open(tiny_source, read_structure(tiny_source.folder))
    qtbot.waitUntil(lambda: panel.scores is not None, timeout=JOB_TIMEOUT_MS)
    assert panel.scores == first
    assert session.activation_norms is not None
    assert session.block_scores["cosine"] == first.scores


def test_export_png_writes_file(qtbot, panel_and_session, tmp_path):
    panel, session = panel_and_session
    run_analysis(qtbot, panel)
    path = panel.export_png(tmp_path / "importance")
    assert path.suffix == ".png"
    assert path.stat().st_size > 1000
