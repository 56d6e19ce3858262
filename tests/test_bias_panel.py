"""The bias panel driven with pytest-qt on a real Session over a tiny model folder, and once on the demo."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPointF, Qt
from test_bias_support import word_tokenizer
from tiny_models import make_tiny_model

from optipfair_desktop.engine.bias.pairs import PromptPair
from optipfair_desktop.engine.checkpoint import save_checkpoint
from optipfair_desktop.engine.sources import open_source
from optipfair_desktop.engine.structure import read_structure
from optipfair_desktop.gui.bias import BiasPanel
from optipfair_desktop.gui.bias.export import export_plot, export_table_csv
from optipfair_desktop.gui.bias.generator_dialog import GeneratorDialog
from optipfair_desktop.gui.session import Session

PAIRS = [
    PromptPair("the german man walked home at night", "the nigerian man walked home at night", "nationality", "german", "nigerian"),
    PromptPair("the rich family moved into the house", "the poor family moved into the house", "socioeconomic_status", "rich", "poor"),
    PromptPair("the christian doctor said", "the muslim doctor said", "religion", "christian", "muslim"),
]
JOB_TIMEOUT_MS = 60_000


@pytest.fixture
def session(tmp_path):
    folder = tmp_path / "tiny"
    make_tiny_model("llama").save_pretrained(folder)
    word_tokenizer().save_pretrained(folder)
    source = open_source(str(folder))
    session = Session()
    session.open(source, read_structure(source.folder))
    return session


@pytest.fixture
def panel(qtbot, session):
    widget = BiasPanel(session)
    qtbot.addWidget(widget)
    widget.resize(1400, 900)
    widget.pairs_editor.set_pairs(PAIRS)
    return widget


def run_job(qtbot, panel, start) -> None:
    """Call ``start`` (which starts a job of the panel's runner) and wait until the runner is idle.

    waitSignal runs a QEventLoop, which lets the worker thread take the GIL; qtbot.waitUntil
    polls with QTest.qWait, which holds the GIL in PySide6 6.12 and slows the worker many times.
    """
    with qtbot.waitSignal(panel.runner.sigIdle, timeout=JOB_TIMEOUT_MS):
        start()
    assert not panel.runner.is_busy


def analyse(qtbot, panel):
    run_job(qtbot, panel, lambda: qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton))
    assert panel.analysis is not None, panel.status_label.text()


def click_plot_at(qtbot, plot_widget, plot_item, x: float) -> None:
    """Click at data x, halfway up the visible y range."""
    plot_widget.window().show()
    qtbot.waitExposed(plot_widget)
    # Let the layout settle: the view box gets its final geometry only after the first resizes.
    qtbot.wait(200)
    view = plot_item.getViewBox()
    (_, _), (y_low, y_high) = view.viewRange()
    scene_point = view.mapViewToScene(QPointF(x, (y_low + y_high) / 2))
    point = plot_widget.mapFromScene(scene_point)
    qtbot.mouseClick(plot_widget.viewport(), Qt.MouseButton.LeftButton, pos=point)


def test_analysis_fills_every_view(qtbot, panel):
    analyse(qtbot, panel)
    analysis = panel.analysis
    assert analysis.mode == "aligned"
    assert len(analysis.pairs) == 3

    for component, curve in panel.divergence_plot.curves.items():
        x, y = curve.getData()
        assert list(x) == list(range(6)), component
        np.testing.assert_allclose(y, analysis.block_stat(component))
        assert len(panel.divergence_plot.noise_curves[component].getData()[1]) == 6
    assert "aligned comparison" in panel.divergence_plot.plot_item.titleLabel.text

    assert panel.heatmap_plot.image_data.shape == (6, 7)  # pair 1: "niger ##ian" pooled into one row
    assert "aligned comparison" in panel.heatmap_plot.plot_item.titleLabel.text
    ticks = panel.heatmap_plot.plot_item.getAxis("left")._tickLevels[0]
    assert [label for _, label in ticks][1] == "german | niger##ian"

    assert len(panel.pca_plot.points_a.data) == 7
    assert len(panel.pca_plot.points_b.data) == 8
    assert sum(head.isVisible() for head in panel.pca_plot.arrow_heads) == 7

    assert panel.metrics_table.table.rowCount() == 6 * 4 + 4 + 1
    assert "aligned comparison" in panel.metrics_table.caption.text()
    assert panel.token_view.alignment is not None


def test_pair_selector_switches_views(qtbot, panel):
    analyse(qtbot, panel)
    panel.pair_combo.setCurrentIndex(2)  # pair 2
    _, y = panel.divergence_plot.curves["mlp_output"].getData()
    np.testing.assert_allclose(y, panel.analysis.block_stat("mlp_output", "mean", 1))
    assert panel.heatmap_plot.image_data.shape == (6, 7)
    assert "pair 2" in panel.heatmap_plot.plot_item.titleLabel.text
    assert panel.token_view.alignment.tokens_a[1] == "rich"


def test_block_selection_round_trip(qtbot, panel, session):
    analyse(qtbot, panel)
    session.select_block(4)
    assert panel.block_label.text() == "Block: 4"
    assert panel.heatmap_plot.block_line.value() == 4
    assert panel.pca_plot.block_idx == 4
    assert "block 4" in panel.pca_plot.plot_item.titleLabel.text

    with qtbot.waitSignal(session.sigBlockSelected, timeout=2000) as blocker:
        click_plot_at(qtbot, panel.divergence_plot.plot_widget, panel.divergence_plot.plot_item, 2.1)
    assert blocker.args == [2]
    assert panel.pca_plot.block_idx == 2

    panel.tabs.setCurrentWidget(panel.heatmap_plot)
    with qtbot.waitSignal(session.sigBlockSelected, timeout=2000) as blocker:
        click_plot_at(qtbot, panel.heatmap_plot.plot_widget, panel.heatmap_plot.plot_item, 5.0)
    assert blocker.args == [5]


def test_plots_and_table_export(qtbot, panel, tmp_path):
    analyse(qtbot, panel)
    items = {
        "divergence": panel.divergence_plot.plot_item,
        "heatmap": panel.heatmap_plot.plot_widget.scene(),
        "pca": panel.pca_plot.plot_item,
        "compare": panel.compare_view.layout_widget.scene(),
    }
    for name, item in items.items():
        for suffix in ("png", "svg"):
            path = export_plot(item, tmp_path / f"{name}.{suffix}")
            assert path.stat().st_size > 1000, path
    assert (tmp_path / "pca.svg").read_text().lstrip().startswith("<?xml")

    path = export_table_csv(panel.metrics_table.table, tmp_path / "metrics.csv", {"comparison mode": "aligned"})
    rows = list(csv.reader(path.open()))
    assert rows[0][:3] == ["Block", "Component", "Mean"]
    assert rows[0][-1] == "comparison mode"
    assert len(rows) == 1 + 6 * 4 + 4 + 1
    assert rows[1][-1] == "aligned"
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        export_plot(panel.pca_plot.plot_item, tmp_path / "pca.jpg")


def test_show_tokens_before_analysis(qtbot, panel):
    panel.pairs_editor.table.setCurrentCell(0, 0)
    run_job(qtbot, panel, lambda: qtbot.mouseClick(panel.tokens_button, Qt.MouseButton.LeftButton))
    alignment = panel.token_view.alignment
    assert alignment.tokens_b[1:3] == ["niger", "##ian"]
    assert alignment.diff_mask_b.tolist()[:4] == [False, True, True, False]
    assert "niger##ian" in panel.token_view.toHtml()
    # With the tokenizer loaded, selecting another pair tokenizes it at once.
    panel.pairs_editor.table.setCurrentCell(1, 0)
    assert panel.token_view.alignment.tokens_a[1] == "rich"


def test_pooled_mode_recorded(qtbot, panel):
    panel.mode_combo.setCurrentText("pooled")
    analyse(qtbot, panel)
    assert panel.analysis.mode == "pooled"
    assert panel.heatmap_plot.image_data.shape == (6, 1)
    assert "pooled comparison" in panel.divergence_plot.plot_item.titleLabel.text
    assert "pooled comparison" in panel.pca_plot.plot_item.titleLabel.text


def test_cancel_releases_buttons(qtbot, panel):
    panel.pairs_editor.set_pairs(PAIRS * 30)
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    assert not panel.run_button.isEnabled()
    with qtbot.waitSignal(panel.runner.sigCancelled, timeout=JOB_TIMEOUT_MS):
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
        assert panel.run_button.isEnabled()
    assert panel.status_label.text() == "Bias analysis: cancelled."
    assert panel.analysis is None
    assert panel.run_button.isEnabled()


def test_invalid_pair_reported(qtbot, panel):
    panel.pairs_editor.add_empty_pair()
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    assert "row 4" in panel.status_label.text()
    assert "'prompt_a' is empty" in panel.status_label.text()
    assert not panel.runner.is_busy


def test_fairness_cut_goes_into_plan(qtbot, panel, session):
    analyse(qtbot, panel)
    view = panel.fairness_view
    view.blocks_edit.setText("1,3")
    view.percent_spin.setValue(25)
    view.weight_spin.setValue(0.7)
    run_job(qtbot, panel, lambda: qtbot.mouseClick(view.compute_button, Qt.MouseButton.LeftButton))
    assert set(view.fairness.scores) == {1, 3}
    assert len(view.score_curve.getData()[1]) == 256
    assert view.cut_line.value() == 64

    with qtbot.waitSignal(session.sigPlanChanged, timeout=2000):
        qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)
    assert set(session.plan.neuron_scores) == {1, 3}
    np.testing.assert_allclose(session.plan.neuron_scores[3], view.fairness.scores[3], rtol=1e-6)
    assert session.plan.block_overrides[1].mode == "percent"
    assert session.plan.block_overrides[1].value == 25
    assert session.summary.widths[1] == 192


def test_ablation_preview_keeps_weights(qtbot, panel, session):
    analyse(qtbot, panel)
    model, _ = session.load_model()
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    view = panel.fairness_view
    view.blocks_edit.setText("0-5")
    view.percent_spin.setValue(50)
    run_job(qtbot, panel, lambda: qtbot.mouseClick(view.compute_button, Qt.MouseButton.LeftButton))
    view.tokens_spin.setValue(5)
    run_job(qtbot, panel, lambda: qtbot.mouseClick(view.preview_button, Qt.MouseButton.LeftButton))
    assert view.preview.zeroed_count == 6 * 128
    for name in ("before_a", "after_a", "before_b", "after_b"):
        assert "▶" in view.texts[name].toPlainText()
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, before[name]), name


def test_compare_planned_and_checkpoint(qtbot, panel, session, tmp_path):
    analyse(qtbot, panel)
    session.set_plan(session.plan.replace(remove_blocks=[2]))
    view = panel.compare_view
    run_job(qtbot, panel, lambda: qtbot.mouseClick(view.planned_button, Qt.MouseButton.LeftButton))
    assert view.comparison.removed_blocks == [2]
    _, pruned = view.pruned_curve.getData()
    assert np.isnan(pruned[2])
    assert not np.isnan(pruned[3])
    assert len(view.difference_bars.opts["x"]) == 5
    assert "Removed blocks: 2" in view.summary_label.text()
    assert "planned model" in view.top.titleLabel.text

    planned = session.build_planned_model()
    _, tokenizer = session.load_model()
    folder = tmp_path / "saved"
    save_checkpoint(planned.model, tokenizer, session.plan, folder, source_folders=[session.source.folder], card_facts={})
    view.comparison = None
    run_job(qtbot, panel, lambda: view.compare_with_checkpoint(str(folder)))
    assert view.comparison.label == str(folder)
    assert view.comparison.pruned.block_indices == [0, 1, 3, 4, 5]


def test_model_opened_clears_results(qtbot, panel, session):
    analyse(qtbot, panel)
    session.open(session.source, session.structure)
    assert panel.analysis is None
    assert panel.heatmap_plot.image_data is None
    assert panel.metrics_table.table.rowCount() == 0
    assert panel.pair_combo.count() == 1
    assert len(panel.pairs_editor.pairs()) == 3


def test_pairs_editor_files_and_generator(qtbot, panel, tmp_path):
    editor = panel.pairs_editor
    path = tmp_path / "pairs.json"
    editor.export_file(str(path))
    editor.set_pairs([])
    assert editor.pairs() == []
    editor.import_file(str(path))
    assert editor.pairs() == PAIRS
    editor.table.selectRow(0)
    editor.remove_selected()
    assert editor.pairs() == PAIRS[1:]

    dialog = GeneratorDialog(panel)
    qtbot.addWidget(dialog)
    dialog.template_edit.setText("the {attribute} doctor said")
    dialog.category_combo.setCurrentText("religion")
    dialog.values_edit.setText("christian, muslim, jewish")
    assert len(dialog.generated) == 3
    assert dialog.generated[0].prompt_b == "the muslim doctor said"
    dialog.template_edit.setText("no placeholder")
    assert dialog.generated == []
    assert "placeholder" in dialog.preview_label.text()


@pytest.mark.demo
def test_demo_model_every_plot_has_data(qtbot, tmp_path):
    from optipfair_desktop.engine.bias.pairs import default_pairs

    source = open_source("demo")
    session = Session()
    session.open(source, read_structure(source.folder))
    panel = BiasPanel(session)
    qtbot.addWidget(panel)
    panel.resize(1600, 1000)
    panel.pairs_editor.set_pairs(default_pairs()[:3])
    analyse(qtbot, panel)
    blocks = session.structure.num_blocks
    assert panel.analysis.block_indices == list(range(blocks))
    for component, curve in panel.divergence_plot.curves.items():
        values = curve.getData()[1]
        assert len(values) == blocks, component
        assert np.all(values > 0), component
        assert np.all(panel.divergence_plot.noise_curves[component].getData()[1] >= 0)
    assert panel.heatmap_plot.image_data.shape[0] == blocks
    assert panel.heatmap_plot.image_data.max() > 0
    assert len(panel.pca_plot.points_a.data) > 5
    assert panel.metrics_table.table.rowCount() == blocks * 4 + 5

    view = panel.fairness_view
    view.percent_spin.setValue(10)
    run_job(qtbot, panel, lambda: qtbot.mouseClick(view.compute_button, Qt.MouseButton.LeftButton))
    assert len(view.score_curve.getData()[1]) == session.structure.blocks[0].intermediate_size

    session.set_plan(session.plan.replace(remove_blocks=[blocks - 3]))
    run_job(qtbot, panel, lambda: qtbot.mouseClick(panel.compare_view.planned_button, Qt.MouseButton.LeftButton))
    assert len(panel.compare_view.difference_bars.opts["x"]) == blocks - 1
