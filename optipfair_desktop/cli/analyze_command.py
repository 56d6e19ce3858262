"""``optipfair-desktop analyze MODEL``: print one importance score per block."""

from __future__ import annotations

import json
import math

from optipfair_desktop.cli.common import add_model_argument, open_model_source, stderr_progress
from optipfair_desktop.engine.block_scores import CRITERIA, CRITERION_LABELS, BlockScores
from optipfair_desktop.engine.calibration import DEFAULT_NUM_WINDOWS, DEFAULT_WINDOW_LENGTH
from optipfair_desktop.engine.block_importance import DEFAULT_BATCH_SIZE


def register(subparsers) -> None:
    parser = subparsers.add_parser("analyze", help="score the importance of every block on calibration text")
    add_model_argument(parser)
    parser.add_argument("--calibration", metavar="FILE",
                        help="calibration text, .txt or .jsonl with a \"text\" field per line "
                        "(default: the shipped Brown Corpus sample)")
    parser.add_argument("--criterion", choices=CRITERIA, default="cosine",
                        help="cosine: 1 - cosine similarity of block input and output; angular: arccos of it / pi; "
                        "perplexity: perplexity increase when the block is skipped (default: cosine)")
    parser.add_argument("--run-length", type=int, default=1, metavar="N",
                        help="score runs of N consecutive blocks instead of single blocks (default: 1)")
    parser.add_argument("--windows", type=int, default=DEFAULT_NUM_WINDOWS, metavar="N",
                        help=f"number of calibration windows (default: {DEFAULT_NUM_WINDOWS})")
    parser.add_argument("--window-length", type=int, default=DEFAULT_WINDOW_LENGTH, metavar="N",
                        help=f"tokens per calibration window (default: {DEFAULT_WINDOW_LENGTH})")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, metavar="N",
                        help=f"windows per forward pass (default: {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--no-cache", action="store_true", help="recompute even if a cached result exists")
    parser.add_argument("--json", action="store_true", help="print the scores as one JSON object")
    parser.set_defaults(run=run)


def _check_args(args) -> None:
    for name in ("run_length", "windows", "window_length", "batch_size"):
        value = getattr(args, name)
        if value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {value}")


def _label(scores: BlockScores, index: int) -> str:
    blocks = scores.blocks_of(index)
    return str(blocks[0]) if len(blocks) == 1 else f"{blocks[0]}-{blocks[-1]}"


def _as_json(scores: BlockScores) -> str:
    def number(value):
        return None if value is None or not math.isfinite(value) else value

    return json.dumps({
        "criterion": scores.criterion,
        "run_length": scores.run_length,
        "settings": scores.settings,
        "baseline_perplexity": scores.baseline_perplexity,
        "scores": [
            {"blocks": scores.blocks_of(index), "score": number(value)} for index, value in enumerate(scores.scores)
        ],
    }, indent=2)


def run(args) -> int:
    from optipfair_desktop.engine.block_importance import score_blocks
    from optipfair_desktop.engine.calibration import load_calibration_windows
    from optipfair_desktop.engine.importance_cache import model_identity_for_folder
    from optipfair_desktop.engine.loading import load_model

    _check_args(args)
    progress = (lambda fraction, message: None) if args.json else stderr_progress()
    source = open_model_source(args.model, quiet=args.json)
    model, tokenizer = load_model(source, progress=progress)
    windows = load_calibration_windows(
        tokenizer, args.calibration, window_length=args.window_length, num_windows=args.windows
    )
    scores = score_blocks(
        model, windows, args.criterion,
        run_length=args.run_length,
        batch_size=args.batch_size,
        model_identity=None if args.no_cache else model_identity_for_folder(source.folder),
        progress=progress,
    )

    if args.json:
        print(_as_json(scores))
        return 0
    print(f"{source.name}: {CRITERION_LABELS[scores.criterion]} on {windows.num_windows} windows of "
          f"{windows.window_length} tokens of {windows.source_name} (higher = more important)")
    if scores.baseline_perplexity is not None:
        print(f"Perplexity of the full model on these windows: {scores.baseline_perplexity:.3f}")
    print(f"{'block' if scores.run_length == 1 else 'blocks':>7}  score")
    for index, value in enumerate(scores.scores):
        print(f"{_label(scores, index):>7}  {'unknown' if value is None else f'{value:.6f}'}")
    return 0
