"""Medians, spreads, run order and the noise warning."""

import pytest

from optipfair_desktop.engine.bench.comparison import describe_comparison
from optipfair_desktop.engine.bench.schedule import ScheduledRun, interleaved_order
from optipfair_desktop.engine.bench.stats import Summary, paired_ratios


def test_summary_quartiles():
    summary = Summary.of([5.0, 1.0, 3.0, 2.0, 4.0])
    assert summary.median == 3.0
    assert summary.q1 == 2.0
    assert summary.q3 == 4.0
    assert summary.minimum == 1.0
    assert summary.maximum == 5.0
    assert summary.iqr == 2.0
    assert summary.relative_spread == pytest.approx(2 / 3)


def test_summary_round_trip():
    summary = Summary.of([1.5, 2.5])
    assert Summary.from_dict(summary.to_dict()) == summary


def test_summary_rejects_empty():
    with pytest.raises(ValueError, match="empty"):
        Summary.of([])


def test_paired_ratios():
    assert paired_ratios([2.0, 6.0], [1.0, 3.0]) == [2.0, 2.0]
    with pytest.raises(ValueError, match="differ"):
        paired_ratios([1.0], [1.0, 2.0])


def test_order_is_interleaved():
    order = interleaved_order(2, repeats=3, warmups=1)
    timed = [run.model_index for run in order if not run.warmup]
    assert timed == [0, 1, 0, 1, 0, 1]
    assert [run.repeat for run in order if not run.warmup] == [0, 0, 1, 1, 2, 2]


def test_warmups_come_first():
    order = interleaved_order(2, repeats=1, warmups=2)
    assert order[:4] == [
        ScheduledRun(0, 0, True), ScheduledRun(0, 1, True), ScheduledRun(1, 0, True), ScheduledRun(1, 1, True)
    ]
    assert not any(run.warmup for run in order[4:])


def test_three_models_rotate():
    timed = [run.model_index for run in interleaved_order(3, repeats=2, warmups=0)]
    assert timed == [0, 1, 2, 0, 1, 2]


@pytest.mark.parametrize("models,repeats,warmups", [(0, 1, 0), (1, 0, 0), (1, 1, -1)])
def test_order_rejects_bad_counts(models, repeats, warmups):
    with pytest.raises(ValueError):
        interleaved_order(models, repeats, warmups)


def test_gain_within_spread_is_flagged():
    within, note = describe_comparison(speedup=1.04, bound=1.5, spread=0.06, repeats=5)
    assert within
    assert "within the baseline's spread" in note


def test_gain_beyond_spread_is_reported_with_bound():
    within, note = describe_comparison(speedup=1.30, bound=1.5, spread=0.03, repeats=5)
    assert not within
    assert "x1.30" in note
    assert "x1.50" in note


def test_slowdown_beyond_spread_is_named():
    within, note = describe_comparison(speedup=0.85, bound=1.2, spread=0.03, repeats=5)
    assert not within
    assert "slower than the baseline" in note


def test_single_repeat_claims_nothing():
    within, note = describe_comparison(speedup=1.30, bound=1.5, spread=0.0, repeats=1)
    assert within
    assert "single repeat" in note


def test_above_bound_is_explained():
    within, note = describe_comparison(speedup=2.0, bound=1.5, spread=0.02, repeats=5)
    assert not within
    assert "exceeds the bound" in note
