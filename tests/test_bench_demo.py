"""The benchmark panel on the real demo model, kept short: 4 tokens, 1 repeat."""

import pytest

from optipfair_desktop.engine.sources import open_source
from optipfair_desktop.engine.structure import read_structure
from optipfair_desktop.gui.bench.panel import BenchPanel
from optipfair_desktop.gui.session import Session
from test_bench_panel import wait_for_runner_idle

pytestmark = [pytest.mark.demo, pytest.mark.filterwarnings("ignore")]


def test_demo_original_against_three_blocks_removed(qtbot):
    session = Session()
    source = open_source("demo")
    session.open(source, read_structure(source.folder))
    session.set_plan(session.plan.replace(remove_blocks=[25, 26, 27]))
    panel = BenchPanel(session)
    qtbot.addWidget(panel, before_close_func=lambda w: wait_for_runner_idle(qtbot, w.runner))
    box = panel.settings_box
    box.prompt_spin.setValue(16)
    box.tokens_spin.setValue(4)
    box.repeats_spin.setValue(1)
    box.warmups_spin.setValue(0)
    box.context_spin.setValue(64)
    box.stride_spin.setValue(32)
    box.max_tokens_spin.setValue(96)

    with qtbot.waitSignal(panel.sigRecordAdded, timeout=600_000) as blocker:
        panel.run_button.click()
    record = blocker.args[0]

    original, planned = record.models
    assert (original.num_blocks, planned.num_blocks) == (30, 27)
    assert original.tokens_generated == (4,)
    assert planned.tokens_generated == (4,)
    assert planned.parameters < original.parameters
    # Three of 30 blocks hold a bit under a tenth of the bytes read per token (the head is tied).
    (comparison,) = record.comparisons
    assert 1.05 < comparison.decode_bound < 1.11
    assert comparison.within_noise  # a single repeat cannot show a gain
    assert 5 < original.perplexity[0].perplexity < 200
    assert planned.perplexity[0].perplexity > original.perplexity[0].perplexity * 0.9
