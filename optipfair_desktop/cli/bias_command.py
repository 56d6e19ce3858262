"""``optipfair-desktop bias MODEL``: print where prompt pairs diverge, block by block."""

from __future__ import annotations

import json
import math

from optipfair_desktop.cli.common import add_model_argument, open_model_source, stderr_progress
from optipfair_desktop.engine.bias.alignment import COMPARISON_MODES
from optipfair_desktop.engine.bias.capture import COMPONENTS

STATS = ("mean", "max", "std", "l1", "l2")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "bias", help="measure how activations of prompt pairs differing in a protected attribute diverge per block"
    )
    add_model_argument(parser)
    parser.add_argument("--pairs", metavar="FILE", help="prompt pairs as .csv or .json (default: the shipped pairs)")
    parser.add_argument("--mode", choices=COMPARISON_MODES, default="aligned",
                        help="which rows are compared: aligned tokens, the mean over tokens (pooled), "
                        "or the last token (default aligned)")
    parser.add_argument("--component", action="append", choices=COMPONENTS, metavar="NAME",
                        help=f"component to report, repeatable: {', '.join(COMPONENTS)} (default all)")
    parser.add_argument("--compare", metavar="PRUNED_DIR",
                        help="also analyse a pruned checkpoint saved by this app and report the change per block")
    parser.add_argument("--no-noise-floor", action="store_true",
                        help="skip the noise floor (repeat run and other-dtype run of the same prompts)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or mps (default cpu)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.set_defaults(run=run)


def _number(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _rows(analysis, components, comparison):
    """Yield one dict per block and component with the metrics averaged over the pairs."""
    noise = {c: analysis.noise_level(c) for c in components}
    curves = {c: comparison.curves(c) for c in components} if comparison is not None else {}
    for position, block_idx in enumerate(analysis.block_indices):
        for component in components:
            row = {"block": block_idx, "component": component}
            for stat in STATS:
                row[stat] = float(analysis.block_stat(component, stat)[position])
            row["noise_floor"] = None if noise[component] is None else float(noise[component][position])
            if comparison is not None:
                _, pruned, change = curves[component]
                row["pruned_mean"] = _number(pruned[position])
                row["change"] = _number(change[position])
            yield row


def _summary_dict(stats) -> dict:
    return {"mean": stats.mean, "max": stats.max, "min": stats.min, "std": _number(stats.std),
            "l1": stats.l1, "l2": stats.l2, "count": stats.count}


def _print_tables(source_name, analysis, components, rows, comparison) -> None:
    floor = analysis.noise_floor
    print(f"Model: {source_name} ({len(analysis.block_indices)} blocks, {analysis.model_dtype})")
    print(f"Prompt pairs: {len(analysis.pairs)}; comparison mode: {analysis.mode}")
    if floor is not None:
        print(f"Noise floor: max of a repeat run and a {floor.other_dtype} copy, over {floor.prompt_count} prompts")
    if comparison is not None:
        print(f"Pruned: {comparison.label} (removed blocks: {', '.join(map(str, comparison.removed_blocks)) or 'none'})")
    print("Values are absolute activation differences averaged over the pairs.")

    header = f"{'block':>5} {'component':<17} {'mean':>10} {'max':>10} {'std':>10} {'L1':>12} {'L2':>10} {'noise':>10}"
    if comparison is not None:
        header += f" {'pruned':>10} {'change':>10}"
    print(header)
    for row in rows:
        noise = "-" if row["noise_floor"] is None else f"{row['noise_floor']:.4g}"
        line = (f"{row['block']:>5} {row['component']:<17} {row['mean']:>10.4g} {row['max']:>10.4g} {row['std']:>10.4g} "
                f"{row['l1']:>12.4g} {row['l2']:>10.4g} {noise:>10}")
        if comparison is not None:
            pruned = "removed" if row["pruned_mean"] is None else f"{row['pruned_mean']:.4g}"
            change = "-" if row["change"] is None else f"{row['change']:+.4g}"
            line += f" {pruned:>10} {change:>10}"
        print(line)

    print("Over blocks (mean of the per-block means; std with Bessel's correction):")
    for component in components:
        stats = analysis.component_summary(component)
        print(f"  {component:<17} mean {stats.mean:.4g}  max {stats.max:.4g}  min {stats.min:.4g}  std {stats.std:.4g}")
    if comparison is not None:
        for component in components:
            worse = comparison.worse_blocks(component)
            print(f"  {component:<17} blocks where pruning increased the divergence beyond the noise floor: "
                  f"{', '.join(map(str, worse)) or 'none'}")


def run(args) -> int:
    from optipfair_desktop.engine.bias.analysis import analyze_pairs
    from optipfair_desktop.engine.bias.compare import compare_with_checkpoint
    from optipfair_desktop.engine.bias.pair_files import load_pairs
    from optipfair_desktop.engine.bias.pairs import default_pairs
    from optipfair_desktop.engine.loading import load_model, resolve_device

    quiet = args.json
    progress = (lambda fraction, message: None) if quiet else stderr_progress()
    pairs = load_pairs(args.pairs) if args.pairs else default_pairs()
    components = tuple(dict.fromkeys(args.component)) if args.component else COMPONENTS
    device = resolve_device(args.device)

    source = open_model_source(args.model, quiet=quiet)
    model, tokenizer = load_model(source, device=device, progress=progress)
    analysis = analyze_pairs(model, tokenizer, pairs, mode=args.mode, components=components,
                             noise_floor=not args.no_noise_floor, progress=progress)
    comparison = None
    if args.compare:
        comparison = compare_with_checkpoint(analysis, args.compare, tokenizer, device=device, progress=progress)

    rows = list(_rows(analysis, components, comparison))
    if not args.json:
        _print_tables(source.name, analysis, components, rows, comparison)
        return 0

    floor = analysis.noise_floor
    output = {
        "model": source.name,
        "mode": analysis.mode,
        "dtype": analysis.model_dtype,
        "pairs": [result.pair.to_dict() for result in analysis.pairs],
        "noise_floor": None if floor is None else {
            "other_dtype": floor.other_dtype,
            "prompts": floor.prompt_count,
            "repeat": {c: floor.repeat[c].tolist() for c in components},
            "precision": {c: floor.precision[c].tolist() for c in components},
        },
        "blocks": rows,
        "components": {c: _summary_dict(analysis.component_summary(c)) for c in components},
        "overall": _summary_dict(analysis.overall_summary()),
    }
    if comparison is not None:
        output["compare"] = {
            "checkpoint": comparison.label,
            "removed_blocks": comparison.removed_blocks,
            "worse_blocks": {c: comparison.worse_blocks(c) for c in components},
        }
    print(json.dumps(output, indent=2))
    return 0
