"""``optipfair-desktop prune MODEL --output DIR``: apply a plan and save a checkpoint."""

from __future__ import annotations

from pathlib import Path

from optipfair_desktop.cli.common import add_model_argument, open_model_source, stderr_progress
from optipfair_desktop.engine.plan import DTYPES, METHODS, PlanError, PruningPlan, WidthTarget, parse_block_list
from optipfair_desktop.engine.checkpoint import check_output_dir
from optipfair_desktop.engine.plan_check import summarize_plan, validate_plan
from optipfair_desktop.engine.structure import read_structure


def register(subparsers) -> None:
    parser = subparsers.add_parser("prune", help="prune a model in depth and/or width and save a checkpoint")
    add_model_argument(parser)
    parser.add_argument("--output", "-o", required=True, metavar="DIR", help="folder to write the checkpoint to")
    parser.add_argument("--plan", metavar="FILE", help="pruning plan JSON; other options override its fields")
    parser.add_argument("--remove-blocks", metavar="LIST", help="blocks to remove, for example 3,5-7")
    parser.add_argument("--remove-least-important", type=int, metavar="N",
                        help="remove the N least important unprotected blocks, scored on calibration text")
    parser.add_argument("--criterion", default="cosine", help="block importance criterion for "
                        "--remove-least-important: cosine, angular or perplexity (default cosine)")
    parser.add_argument("--calibration", metavar="FILE", help="calibration text (.txt or .jsonl) for "
                        "--method hybrid and --remove-least-important; default: the shipped English sample")
    width = parser.add_mutually_exclusive_group()
    width.add_argument("--pruning-percent", type=float, metavar="P", help="prune P%% of the neuron pairs of every MLP")
    width.add_argument("--expansion-rate", type=float, metavar="R",
                       help="keep intermediate_size = R%% of hidden_size in every MLP")
    parser.add_argument("--method", default=None, help=f"neuron-pair criterion: {', '.join(METHODS)} (maw = ppm)")
    parser.add_argument("--divisor", type=int, default=None, help="round kept widths down to a multiple of 32, 64, 128 or 256 (0 = no rounding)")
    parser.add_argument("--dtype", choices=DTYPES, help="weight dtype of the checkpoint (default: keep the source's)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    parser.set_defaults(run=run)


def build_plan(args, structure, identity) -> PruningPlan:
    plan = PruningPlan.load(args.plan) if args.plan else PruningPlan()
    changes = {}
    if args.remove_blocks:
        changes["remove_blocks"] = parse_block_list(args.remove_blocks)
    if args.pruning_percent is not None:
        changes["width"] = WidthTarget("percent", args.pruning_percent)
    if args.expansion_rate is not None:
        changes["width"] = WidthTarget("expansion_rate", args.expansion_rate)
    if args.method:
        changes["method"] = args.method
    if args.divisor is not None:
        changes["divisor"] = args.divisor or None
    if args.dtype:
        changes["dtype"] = args.dtype
    plan = plan.replace(**changes)
    if not plan.source:
        plan = plan.replace(source=identity)
    return plan


def run(args) -> int:
    from optipfair_desktop.engine.loading import load_model
    from optipfair_desktop.engine.workflow import prune_and_save

    # Reject an unusable output folder before a GGUF conversion or a model load spends time.
    check_output_dir(Path(args.output), [], args.overwrite)
    source = open_model_source(args.model)
    check_output_dir(Path(args.output), [source.folder, source.original_path], args.overwrite)
    structure = read_structure(source.folder)
    identity = {**structure.identity(), "name": source.name}
    plan = build_plan(args, structure, identity)
    if args.divisor and plan.width is None and not plan.block_overrides:
        raise PlanError("--divisor needs a width target; add --pruning-percent or --expansion-rate.")
    calibrate = bool(args.remove_least_important) or plan.method == "hybrid"
    if plan.method == "hybrid" and not plan.calibration:
        # The real calibration facts are filled in once the activation norms are collected.
        plan = plan.replace(calibration={"source": args.calibration or "shipped calibration text"})
    validate_plan(structure, plan)
    if plan.is_empty and not args.remove_least_important:
        raise PlanError("The plan cuts nothing; give --remove-blocks, --pruning-percent or --expansion-rate.")

    model, tokenizer = load_model(source, progress=stderr_progress())
    activation_norms = None
    if calibrate:
        plan, activation_norms = _calibrate(args, model, tokenizer, structure, plan)
    summary = summarize_plan(structure, plan)

    result = prune_and_save(
        model, tokenizer, source, structure, plan, args.output,
        activation_norms=activation_norms, overwrite=args.overwrite, progress=stderr_progress(),
    )
    widths = sorted(set(summary.widths.values()))
    print(f"Source: {source.name} ({structure.num_blocks} blocks, {summary.original_params / 1e6:.2f} M parameters)")
    print(f"Removed blocks: {', '.join(map(str, plan.remove_blocks)) or 'none'}")
    print(f"MLP widths kept: {', '.join(map(str, widths))} (criterion {plan.method}, divisor {plan.divisor or 'none'})")
    if summary.padding_params:
        print(f"Padding: {summary.padding_params / 1e6:.2f} M zero parameters so every MLP has width {summary.stored_width}")
    dtype = plan.dtype or structure.dtype
    print(f"Result: {summary.planned_blocks} blocks, {result.save.params / 1e6:.2f} M parameters, "
          f"{result.save.bytes_on_disk / 1e6:.1f} MB of {dtype} weights")
    print(f"Saved to {result.save.output_dir}; reloaded with transformers, logits identical")
    return 0


def _calibrate(args, model, tokenizer, structure, plan):
    """Score blocks and/or collect activation norms on calibration text (importance analyses)."""
    try:
        from optipfair_desktop.engine import activation_norms as norms_module
        from optipfair_desktop.engine import block_importance, calibration
    except ImportError as error:
        raise PlanError(f"Calibration is not available in this build ({error}).") from error
    from optipfair_desktop.engine.protection import default_protected_blocks

    windows = calibration.load_calibration_windows(tokenizer, args.calibration)
    norms = None
    if args.remove_least_important:
        scores = block_importance.score_blocks(model, windows, args.criterion, progress=stderr_progress())
        protected = default_protected_blocks(structure.num_blocks)
        chosen = block_importance.select_least_important(scores.scores, args.remove_least_important, protected)
        print(f"Least important blocks by {args.criterion}: {', '.join(map(str, chosen))}")
        plan = plan.replace(remove_blocks=sorted(set(plan.remove_blocks) | set(chosen)))
    if plan.method == "hybrid":
        norms = norms_module.collect_activation_norms(model, windows, progress=stderr_progress())
        plan = plan.replace(calibration={"source": windows.source_name, "hash": windows.content_hash})
    return plan, norms
