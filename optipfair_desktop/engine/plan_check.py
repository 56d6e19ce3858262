"""Validate a plan against a model's structure and compute what it will leave.

The kept width follows the reference definition (OptiPFair 0.4.2). A percentage ``p`` prunes
``int(p / 100 * n)`` neuron pairs, at most ``n - 1``. An expansion-rate target ``r`` gives
``p = (1 - (r / 100 * hidden_size) / n) * 100``. The kept width is then rounded down to a
multiple of the divisor. Unlike the reference, a divisor larger than the kept width is rejected instead
of being turned into a width of 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from optipfair_desktop.engine.plan import DIVISORS, DTYPE_BYTES, IDENTITY_SHAPE_KEYS, PlanError, PruningPlan, WidthTarget
from optipfair_desktop.engine.structure import ModelStructure


def pruning_percent_for(target: WidthTarget, width: int, hidden_size: int, block_idx: int) -> float:
    if target.mode == "percent":
        if not 0 <= target.value < 100:
            raise PlanError(
                f"Pruning percentage {target.value:g}% for block {block_idx} is outside [0, 100); "
                "choose a value such as 25."
            )
        return float(target.value)
    current_rate = 100.0 * width / hidden_size
    target_width = (target.value / 100) * hidden_size
    if target.value <= 0:
        raise PlanError(f"Expansion rate {target.value:g}% for block {block_idx} must be above 0%.")
    if target_width >= width:
        raise PlanError(
            f"Expansion rate {target.value:g}% for block {block_idx} is not below its current "
            f"{current_rate:.1f}%, so nothing would be pruned; choose a rate below {current_rate:.1f}%."
        )
    return (1 - (target_width / width)) * 100


def kept_width(width: int, hidden_size: int, target: WidthTarget, divisor: int | None, block_idx: int) -> int:
    """Return the intermediate_size that ``target`` leaves in a block, or raise PlanError."""
    percent = pruning_percent_for(target, width, hidden_size, block_idx)
    if percent == 0:
        return width
    pruned = min(int(percent / 100 * width), width - 1)
    kept = width - pruned
    if divisor:
        if divisor > kept:
            raise PlanError(
                f"Divisor {divisor} is larger than the width {kept} that {target.describe()} keeps in "
                f"block {block_idx}; choose a smaller divisor or prune less."
            )
        kept = (kept // divisor) * divisor
    if kept >= width:
        raise PlanError(
            f"{target.describe()} with divisor {divisor} keeps all {width} neuron pairs of block "
            f"{block_idx}, so nothing is pruned; prune more or use a smaller divisor."
        )
    if kept <= 0:
        raise PlanError(f"{target.describe()} leaves no neuron pairs in block {block_idx}; prune less.")
    return kept


def planned_widths(hidden_size: int, widths: dict[int, int], plan: PruningPlan) -> dict[int, int]:
    """Map every kept block to the width the plan gives it (unchanged blocks keep theirs)."""
    if plan.divisor is not None and plan.divisor not in DIVISORS:
        choices = ", ".join(str(d) for d in DIVISORS)
        raise PlanError(f"Divisor {plan.divisor} is not offered; use one of {choices}, or none.")
    result = {}
    for block_idx, width in widths.items():
        if block_idx in plan.remove_blocks:
            continue
        target = plan.width_target_for(block_idx)
        result[block_idx] = width if target is None else kept_width(width, hidden_size, target, plan.divisor, block_idx)
    return result


def check_identity(structure: ModelStructure, plan: PruningPlan) -> None:
    """Reject a plan that was made for a model of another shape."""
    if not plan.source:
        return
    expected = structure.identity()
    for key in IDENTITY_SHAPE_KEYS:
        if key in plan.source and plan.source[key] != expected[key]:
            raise PlanError(
                f"This plan was made for {plan.source.get('name', 'another model')} "
                f"({key} = {plan.source[key]}), but the open model has {key} = {expected[key]}; "
                "make a new plan for this model."
            )


def validate_plan(structure: ModelStructure, plan: PruningPlan) -> dict[int, int]:
    """Check every part of ``plan`` against ``structure``; return the planned widths."""
    check_identity(structure, plan)
    out_of_range = [i for i in plan.remove_blocks if not 0 <= i < structure.num_blocks]
    if out_of_range:
        raise PlanError(
            f"Blocks {out_of_range} do not exist; the model has blocks 0-{structure.num_blocks - 1}."
        )
    if len(plan.remove_blocks) >= structure.num_blocks:
        raise PlanError(f"The plan removes all {structure.num_blocks} blocks; keep at least one.")
    if plan.has_width_cut and not structure.has_glu_mlp:
        raise PlanError(
            f"Width pruning needs a gate_proj/up_proj/down_proj MLP, which {structure.model_type} lacks; "
            "remove the width target and prune depth only."
        )
    bad_overrides = [i for i in plan.block_overrides if not 0 <= i < structure.num_blocks]
    if bad_overrides:
        raise PlanError(f"Width overrides name blocks {bad_overrides}, which do not exist.")
    widths = {b.block_idx: b.intermediate_size for b in structure.blocks if b.intermediate_size}
    for block_idx, scores in plan.neuron_scores.items():
        if block_idx not in widths:
            raise PlanError(f"Neuron scores name block {block_idx}, which does not exist.")
        if len(scores) != widths[block_idx]:
            raise PlanError(
                f"Block {block_idx} has {widths[block_idx]} neuron pairs but the plan gives {len(scores)} scores."
            )
    if plan.method == "hybrid" and not plan.calibration:
        raise PlanError("The hybrid criterion needs calibration text; run calibration or choose ppm, vow, pon or l2.")
    return planned_widths(structure.hidden_size, widths, plan)


@dataclass(frozen=True)
class PlanSummary:
    """Original against planned size, as the summary panel and the model card show it."""

    original_blocks: int
    planned_blocks: int
    original_params: int
    planned_params: int
    padding_params: int  # zero neuron pairs added so that every block has the same width
    bytes_per_param: int  # of the source weights
    planned_bytes_per_param: int  # of the checkpoint, after the plan's dtype
    widths: dict[int, int]
    stored_width: int | None  # the single intermediate_size written to config.json

    @property
    def original_bytes(self) -> int:
        return self.original_params * self.bytes_per_param

    @property
    def planned_bytes(self) -> int:
        return self.planned_params * self.planned_bytes_per_param

    @property
    def padding_bytes(self) -> int:
        return self.padding_params * self.planned_bytes_per_param


def params_per_neuron_pair(structure: ModelStructure) -> int:
    """Count the parameters of one neuron pair: a gate_proj and an up_proj row, a down_proj column."""
    bias = 2 if structure.mlp_has_bias else 0  # gate_proj and up_proj biases; down_proj's is shared
    return 3 * structure.hidden_size + bias


def summarize_plan(structure: ModelStructure, plan: PruningPlan) -> PlanSummary:
    """Count parameters and bytes the plan leaves, including zero padding of narrower MLPs."""
    widths = validate_plan(structure, plan)
    per_neuron = params_per_neuron_pair(structure)
    stored_width = max(widths.values()) if widths and structure.has_glu_mlp else None

    planned = structure.non_block_params
    padding = 0
    for block in structure.blocks:
        if block.block_idx in plan.remove_blocks:
            continue
        params = block.params
        if block.intermediate_size:
            params -= (block.intermediate_size - stored_width) * per_neuron
            padding += (stored_width - widths[block.block_idx]) * per_neuron
        planned += params
    return PlanSummary(
        original_blocks=structure.num_blocks,
        planned_blocks=structure.num_blocks - len(plan.remove_blocks),
        original_params=structure.total_params,
        planned_params=planned,
        padding_params=padding,
        bytes_per_param=structure.bytes_per_param,
        planned_bytes_per_param=DTYPE_BYTES[plan.dtype] if plan.dtype else structure.bytes_per_param,
        widths=widths,
        stored_width=stored_width,
    )
