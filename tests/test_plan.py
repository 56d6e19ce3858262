import pytest

from optipfair_desktop.engine.plan import PlanError, PruningPlan, WidthTarget, normalize_method, parse_block_list
from optipfair_desktop.engine.plan_check import kept_width, summarize_plan, validate_plan
from optipfair_desktop.engine.structure import read_structure
from tiny_models import save_tiny_model


@pytest.fixture(scope="module")
def tiny_structure(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-llama")
    save_tiny_model(folder, "llama")
    return read_structure(folder)


def test_block_list_parses_ranges():
    assert parse_block_list("3,5-7") == [3, 5, 6, 7]
    assert parse_block_list(" 7, 3 ,3") == [3, 7]


@pytest.mark.parametrize("text, message", [("3,x", "'x' is not a number"), ("7-5", "runs backwards"), ("1-", "'1-'")])
def test_block_list_rejects_bad_text(text, message):
    with pytest.raises(PlanError, match=message):
        parse_block_list(text)


def test_method_alias_maw_is_ppm():
    assert normalize_method("MAW") == "ppm"
    with pytest.raises(PlanError, match="wanda"):
        normalize_method("wanda")


def test_plan_json_round_trip(tmp_path):
    plan = PruningPlan(
        source={"name": "m", "num_hidden_layers": 6},
        remove_blocks=(1, 4),
        width=WidthTarget("expansion_rate", 200.0),
        method="vow",
        divisor=64,
        block_overrides={2: WidthTarget("percent", 0.0)},
        neuron_scores={3: [0.1, 0.9]},
    )
    path = tmp_path / "plan.json"
    plan.save(path)
    assert PruningPlan.load(path) == plan


def test_plan_rejects_newer_format():
    with pytest.raises(PlanError, match="newer"):
        PruningPlan.from_dict({"format_version": 99})


def test_plan_rejects_invalid_json():
    with pytest.raises(PlanError, match="not valid JSON"):
        PruningPlan.from_json("{remove_blocks: [1")


def test_kept_width_matches_reference_arithmetic():
    # SmolLM2: hidden 576, MLP 1536; expansion rate 200% keeps 1152, a multiple of 64.
    assert kept_width(1536, 576, WidthTarget("expansion_rate", 200), 64, 0) == 1152
    # 30% of 256 prunes int(76.8) = 76 pairs, keeping 180, rounded down to 160 by divisor 32.
    assert kept_width(256, 64, WidthTarget("percent", 30), 32, 0) == 160
    assert kept_width(256, 64, WidthTarget("percent", 30), None, 0) == 180


@pytest.mark.parametrize(
    "target, divisor, message",
    [
        (WidthTarget("expansion_rate", 400), None, "not below its current"),
        (WidthTarget("percent", 100), None, "outside"),
        (WidthTarget("percent", -5), None, "outside"),
        (WidthTarget("percent", 90), 32, "Divisor 32 is larger than the width 26"),
        (WidthTarget("percent", 0.1), None, "nothing is pruned"),
        (WidthTarget("percent", 10), 256, "larger than the width"),
    ],
)
def test_kept_width_rejects_impossible_targets(target, divisor, message):
    with pytest.raises(PlanError, match=message):
        kept_width(256, 64, target, divisor, 0)


def test_validate_rejects_removing_every_block(tiny_structure):
    with pytest.raises(PlanError, match="removes all 6 blocks"):
        validate_plan(tiny_structure, PruningPlan(remove_blocks=tuple(range(6))))


def test_validate_rejects_missing_block(tiny_structure):
    with pytest.raises(PlanError, match=r"Blocks \[9\] do not exist"):
        validate_plan(tiny_structure, PruningPlan(remove_blocks=(9,)))


def test_validate_rejects_plan_for_other_model(tiny_structure):
    plan = PruningPlan(source={"name": "SmolLM2", "num_hidden_layers": 30, "hidden_size": 576}, remove_blocks=(1,))
    with pytest.raises(PlanError, match="made for SmolLM2"):
        validate_plan(tiny_structure, plan)


def test_summary_counts_depth_and_width(tiny_structure):
    block = tiny_structure.blocks[0]
    plan = PruningPlan(remove_blocks=(5,), width=WidthTarget("percent", 50))
    summary = summarize_plan(tiny_structure, plan)
    per_neuron = 3 * tiny_structure.hidden_size
    expected = tiny_structure.total_params - block.params - 5 * 128 * per_neuron
    assert summary.planned_blocks == 5
    assert summary.planned_params == expected
    assert summary.padding_params == 0
    assert summary.planned_bytes == expected * 4


def test_summary_counts_padding_of_narrower_blocks(tiny_structure):
    plan = PruningPlan(width=WidthTarget("percent", 50), block_overrides={2: WidthTarget("percent", 25)})
    summary = summarize_plan(tiny_structure, plan)
    assert summary.stored_width == 192
    assert summary.widths[0] == 128
    assert summary.padding_params == 5 * (192 - 128) * 3 * tiny_structure.hidden_size


def test_summary_uses_plan_dtype_for_size(tiny_structure):
    summary = summarize_plan(tiny_structure, PruningPlan(remove_blocks=(5,), dtype="bfloat16"))
    assert summary.planned_bytes == summary.planned_params * 2
    assert summary.original_bytes == summary.original_params * 4


def test_plan_rejects_unknown_dtype():
    with pytest.raises(PlanError, match="int4"):
        PruningPlan.from_dict({"dtype": "int4"})


@pytest.mark.parametrize(
    "data, message",
    [
        ({"remove_blocks": "12"}, "'remove_blocks' must be a list"),
        ({"remove_blocks": [1.7]}, "1.7 is not one"),
        ({"remove_blocks": [True]}, "True is not one"),
        ({"width": {"mode": "percent", "value": True}}, "'width value' must be a number"),
        ({"remove_block": [1]}, r"Unknown plan fields \['remove_block'\]"),
        ({"format_version": "2"}, "newer than this app"),
        ({"format_version": "x"}, "'format_version' must be a whole number"),
        ({"divisor": "x"}, "'divisor' must be a whole number"),
        ({"block_overrides": {"x": {"mode": "percent", "value": 5}}}, "'block_overrides key'"),
        ({"width": {"mode": "percent"}}, "Invalid width target"),
    ],
)
def test_plan_file_rejects_bad_fields(data, message):
    with pytest.raises(PlanError, match=message):
        PruningPlan.from_dict(data)


def test_zero_percent_plan_is_empty():
    assert PruningPlan(width=WidthTarget("percent", 0)).is_empty
    assert not PruningPlan(width=WidthTarget("percent", 0), block_overrides={1: WidthTarget("percent", 10)}).is_empty
