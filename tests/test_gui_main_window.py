"""The main window on the real demo model: open, toggle blocks, set a width target, save."""

import json

import pytest
from PySide6.QtCore import Qt
from transformers import AutoConfig

from optipfair_desktop.engine.plan import PruningPlan, WidthTarget
from optipfair_desktop.engine.plan_check import summarize_plan
from optipfair_desktop.gui.main_window import MainWindow
from tiny_models import save_tiny_model

pytestmark = pytest.mark.filterwarnings("ignore")


def _open(qtbot, window, spec):
    with qtbot.waitSignal(window.session.sigModelOpened, timeout=120_000):
        window.open_model(spec)


@pytest.fixture
def window(qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    # Any unexpected dialog would block the test; record it instead.
    dialogs = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: dialogs.append(a[2]))
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: dialogs.append(a[2]))
    main = MainWindow()
    main.dialogs = dialogs
    qtbot.addWidget(main)
    yield main
    main.runner.cancel()
    qtbot.waitUntil(lambda: all(not j.isRunning() for j in main.runner._retired), timeout=60_000)


def _click_block(qtbot, window, block_idx):
    view = window.diagram
    rect = view.visualRect(view.block_model.index(block_idx))
    view.scrollTo(view.block_model.index(block_idx))
    rect = view.visualRect(view.block_model.index(block_idx))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


@pytest.mark.demo
def test_demo_toggle_width_and_save(qtbot, window, tmp_path):
    _open(qtbot, window, "demo")
    session = window.session
    assert window.diagram.block_model.rowCount() == 30
    assert window.summary_panel.value("blocks", "original") == "30"

    _click_block(qtbot, window, 10)
    _click_block(qtbot, window, 11)
    window.diagram.setFocus()
    window.diagram.setCurrentIndex(window.diagram.block_model.index(15))
    qtbot.keyClick(window.diagram, Qt.Key.Key_Space)
    assert session.plan.remove_blocks == (10, 11, 15)
    _click_block(qtbot, window, 11)
    assert session.plan.remove_blocks == (10, 15)
    assert window.diagram.block_model.row(10).removed

    window.width_panel.set_target("expansion_rate", 200, "ppm", 64)
    expected = summarize_plan(session.structure, session.plan)
    assert expected.widths[0] == 1152
    assert window.summary_panel.value("blocks", "planned") == "28"
    assert window.summary_panel.value("parameters", "planned") == f"{expected.planned_params / 1e6:,.2f} M"
    assert window.summary_panel.value("size", "planned") == f"{expected.planned_bytes / 1e6:,.1f} MB"
    assert window.diagram.block_model.row(0).planned_width == 1152
    assert window.save_checkpoint_action.isEnabled()

    output = tmp_path / "demo-pruned"
    with qtbot.waitSignal(window.sigSaveFinished, timeout=300_000) as saved:
        window.save_checkpoint(output)
    result = saved.args[0]
    assert result.save.logits_identical
    config = AutoConfig.from_pretrained(output)
    assert config.num_hidden_layers == 28
    assert config.intermediate_size == 1152
    assert json.loads((output / "pruning_plan.json").read_text())["remove_blocks"] == [10, 15]
    assert window.dialogs == []


@pytest.fixture
def tiny_window(qtbot, window, tmp_path):
    folder = tmp_path / "tiny-llama"
    save_tiny_model(folder, "llama")
    _open(qtbot, window, str(folder))
    return window


def test_protected_block_asks_first(qtbot, tiny_window):
    window = tiny_window
    answers = []
    window.diagram.confirm_protected_removal = lambda block_idx: answers.append(block_idx) or False
    _click_block(qtbot, window, 0)
    assert answers == [0]
    assert window.session.plan.remove_blocks == ()
    window.diagram.confirm_protected_removal = lambda block_idx: True
    _click_block(qtbot, window, 5)
    assert window.session.plan.remove_blocks == (5,)
    assert window.diagram.block_model.row(5).protected


def test_impossible_width_target_is_refused_in_panel(qtbot, tiny_window):
    window = tiny_window
    window.width_panel.set_target("percent", 30, "ppm", 256)
    assert "Divisor 256 is larger than the width 180" in window.width_panel.error.text()
    assert not window.save_checkpoint_action.isEnabled()
    assert window.summary_panel.value("blocks", "planned") == "-"
    window.width_panel.set_target("expansion_rate", 500, "ppm", None)
    assert "not below its current 400.0%" in window.width_panel.error.text()
    window.width_panel.set_target("expansion_rate", 200, "vow", 32)
    assert window.width_panel.error.text() == ""
    assert window.session.plan.width == WidthTarget("expansion_rate", 200.0)
    assert window.session.plan.method == "vow"
    assert window.save_checkpoint_action.isEnabled()


def test_per_block_override_shows_padding_cost(qtbot, tiny_window):
    window = tiny_window
    window.width_panel.set_target("percent", 50, "ppm", None)
    window.width_panel.override_block.setValue(2)
    window.width_panel.override_value.setValue(0)
    window.width_panel.override_apply.click()
    assert window.session.plan.block_overrides == {2: WidthTarget("percent", 0.0)}
    assert "pads narrower MLPs with zero neuron pairs up to 256" in window.width_panel.result.text()
    assert "zero padding" in window.summary_panel.note.text()


def test_plan_file_round_trip_and_other_model_refused(qtbot, tiny_window, tmp_path):
    window = tiny_window
    window.session.toggle_block(3)
    window.width_panel.set_target("percent", 25, "l2", 32)
    path = tmp_path / "plan.json"
    window.session.plan.save(path)
    window._clear_plan()
    assert window.session.plan.remove_blocks == ()
    assert window.load_plan(path)
    assert window.session.plan.remove_blocks == (3,)
    assert window.width_panel.criterion.currentData() == "l2"
    assert window.width_panel.divisor.currentData() == 32

    other = tmp_path / "other.json"
    PruningPlan(source={"name": "SmolLM2", "num_hidden_layers": 30}, remove_blocks=(2,)).save(other)
    assert not window.load_plan(other)
    assert "made for SmolLM2" in window.dialogs[-1]
    assert window.session.plan.remove_blocks == (3,)


def test_save_can_be_cancelled_without_leftovers(qtbot, tiny_window, tmp_path):
    window = tiny_window
    window.session.toggle_block(3)
    output = tmp_path / "out"
    with qtbot.waitSignal(window.runner.sigCancelled, timeout=60_000):
        window.save_checkpoint(output)
        window.job_bar.cancel_button.click()
    assert not output.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_checkpoint_dtype_changes_planned_size(qtbot, tiny_window):
    window = tiny_window
    window.session.toggle_block(3)
    planned_float32 = window.summary_panel.value("size", "planned")
    window.summary_panel.dtype.setCurrentIndex(window.summary_panel.dtype.findData("bfloat16"))
    assert window.session.plan.dtype == "bfloat16"
    summary = window.session.summary
    assert window.summary_panel.value("size", "planned") == f"{summary.planned_params * 2 / 1e6:,.1f} MB"
    assert window.summary_panel.value("size", "planned") != planned_float32


def test_protection_counts_are_configurable(qtbot, tiny_window):
    window = tiny_window
    window.protection_panel.first.setValue(1)
    window.protection_panel.last.setValue(0)
    assert window.session.protected_blocks() == {0}
    assert not window.diagram.block_model.row(5).protected
    assert window.diagram.block_model.row(0).protected
    from optipfair_desktop.gui import settings as app_settings

    assert app_settings.read(window.settings, app_settings.PROTECTED_FIRST) == 1
    assert app_settings.read(window.settings, app_settings.PROTECTED_LAST) == 0
    reopened = MainWindow()
    qtbot.addWidget(reopened)
    assert reopened.session.protected_first == 1
    assert reopened.protection_panel.last.value() == 0
