"""Time block importance on the demo model and measure what removing blocks does to perplexity.

Usage::

    python benchmarks/bench_importance.py [--windows 32] [--window-length 128] [--heldout 16]
                                          [--repeats 5] [--output docs/benchmarks.md]

Timings, on the same calibration windows and batch size:

* one plain forward pass of the base model (no LM head) over the windows, the lower bound;
* this app's cosine importance (``score_blocks``, cache off);
* the reference ``optipfair.pruning.depth.analyze_layer_importance`` 0.4.2.

The three runs are interleaved in every repeat and the minimum of each is reported, because other
processes on the machine add noise that only ever slows a run down. The main figure is the CPU
time of this process with one torch thread (``--threads``), which other jobs disturb far less
than wall-clock time.

Perplexity is measured on held-out windows, disjoint from the calibration windows. The models are
the original, the original without its last 3 blocks, and the original without its 3 least
important blocks by each criterion. The last choice is made twice: with no block protected, and
with the first 4 and last 2 blocks protected.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from optipfair_desktop.engine.bench.machine import cpu_model_name  # noqa: E402
from optipfair_desktop.engine.block_importance import score_blocks  # noqa: E402
from optipfair_desktop.engine.block_scores import select_least_important  # noqa: E402
from optipfair_desktop.engine.block_skipping import skip_blocks  # noqa: E402
from optipfair_desktop.engine.calibration import load_calibration_split  # noqa: E402
from optipfair_desktop.engine.loading import load_model  # noqa: E402
from optipfair_desktop.engine.model_access import decoder_layers, decoder_model  # noqa: E402
from optipfair_desktop.engine.protection import default_protected_blocks  # noqa: E402
from optipfair_desktop.engine.sources import open_source  # noqa: E402
from optipfair_desktop.engine.window_perplexity import window_perplexity  # noqa: E402


def plain_forward(model, windows, batch_size: int) -> None:
    base = decoder_model(model)
    with torch.inference_mode():
        for input_ids, attention_mask in windows.batches(batch_size):
            base(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)


def reference_importance(model, windows, batch_size: int) -> dict:
    from optipfair.pruning.depth import analyze_layer_importance

    batches = [{"input_ids": ids, "attention_mask": mask} for ids, mask in windows.batches(batch_size)]
    return analyze_layer_importance(model, batches, show_progress=False)


def measure(function) -> tuple[float, float]:
    """Run ``function`` and return its (CPU seconds of this process, wall-clock seconds)."""
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    function()
    return time.process_time() - cpu_start, time.perf_counter() - wall_start


def time_runs(model, windows, batch_size: int, repeats: int) -> dict[str, list[tuple[float, float]]]:
    runs = {
        "plain forward (base model)": lambda: plain_forward(model, windows, batch_size),
        "cosine importance (this app)": lambda: score_blocks(model, windows, "cosine", batch_size=batch_size),
        "analyze_layer_importance (optipfair 0.4.2)": lambda: reference_importance(model, windows, batch_size),
    }
    for run in runs.values():  # warm-up
        run()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            times[name].append(measure(run))
    return times


def perplexity_rows(model, calibration, heldout, batch_size: int, log) -> tuple[list[tuple[str, str, float]], dict[str, float]]:
    """Return (table rows of held-out perplexity, CPU seconds each criterion took to score the blocks)."""
    num_blocks = len(decoder_layers(model))
    rows = [("original model", "-", window_perplexity(model, heldout, batch_size=batch_size))]
    last = list(range(num_blocks - 3, num_blocks))
    with skip_blocks(model, last):
        rows.append(("last 3 blocks removed", str(last), window_perplexity(model, heldout, batch_size=batch_size)))
    log(f"original {rows[0][2]:.2f}, last 3 removed {rows[1][2]:.2f}")

    criteria = [("cosine", 1), ("angular", 1), ("angular", 3), ("perplexity", 1)]
    protections = [("none protected", set()), ("first 4 and last 2 protected", default_protected_blocks(num_blocks))]
    scoring_seconds: dict[str, float] = {}
    for criterion, run_length in criteria:
        label = criterion if run_length == 1 else f"{criterion}, runs of {run_length}"
        started = time.process_time()
        scores = score_blocks(model, calibration, criterion, run_length=run_length, batch_size=batch_size)
        scoring_seconds[label] = time.process_time() - started
        log(f"{label} scored in {scoring_seconds[label]:.1f} CPU s")
        for protection_name, protected in protections:
            chosen = sorted(select_least_important(scores, 3, protected))
            with skip_blocks(model, chosen):
                perplexity = window_perplexity(model, heldout, batch_size=batch_size)
            rows.append((f"3 least important by {label}, {protection_name}", str(chosen), perplexity))
            log(f"{rows[-1][0]}: {chosen} -> {perplexity:.2f}")
    return rows, scoring_seconds


def last_block_check(model, calibration, batch_size: int) -> tuple[float, float]:
    """Return the last block's 1 − cosine on its own output and on the normed final hidden state."""
    own = score_blocks(model, calibration, "cosine", batch_size=batch_size).scores[-1]
    totals = []
    with torch.inference_mode():
        for input_ids, attention_mask in calibration.batches(batch_size):
            output = decoder_model(model)(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
            cosine = torch.nn.functional.cosine_similarity(output.hidden_states[-2], output.hidden_states[-1], dim=-1)
            real = attention_mask.bool()
            totals.append(float(cosine[real].mean()))
    return own, 1.0 - statistics.fmean(totals)


def markdown(args, machine: str, times, rows, scoring_seconds, last_block, calibration, heldout) -> str:
    cpu = {name: min(cpu for cpu, _ in values) for name, values in times.items()}
    wall = {name: min(wall for _, wall in values) for name, values in times.items()}
    plain, mine, reference = cpu.values()
    lines = [
        "## Block importance",
        "",
        f"Machine: {machine}. Python {platform.python_version()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} torch thread(s).",
        "",
        f"Command: `{' '.join(['python', f'benchmarks/{Path(__file__).name}', *sys.argv[1:]])}`",
        "",
        f"Model: the demo, SmolLM2-135M-Instruct (Q4_1 GGUF dequantized to float32, 30 blocks). Calibration: "
        f"{calibration.num_windows} windows of {calibration.window_length} tokens of {calibration.source_name}, "
        f"batch size {args.batch_size}. Perplexity: {heldout.num_windows} held-out windows of the same text, "
        "disjoint from the calibration windows.",
        "",
        f"### Time over the calibration windows (minimum of {args.repeats} interleaved repeats)",
        "",
        "CPU time of the process is the main figure: on a machine shared with other jobs it varies far "
        "less than wall-clock time, which is given for reference.",
        "",
        "| run | CPU s (min) | wall s (min) | CPU time / plain forward |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name in times:
        lines.append(f"| {name} | {cpu[name]:.2f} | {wall[name]:.2f} | {cpu[name] / plain:.3f} |")
    lines += [
        "",
        f"This app's cosine importance takes {mine / plain:.3f} times the CPU time of a plain forward pass and "
        f"{mine / reference:.3f} times the reference library's.",
        "",
    ]
    if rows:
        lines += [
            "### Held-out perplexity after removing 3 blocks",
            "",
            "| model | removed blocks | perplexity |",
            "| --- | --- | ---: |",
        ]
        for name, blocks, perplexity in rows:
            lines.append(f"| {name} | {blocks} | {perplexity:.2f} |")
        lines += [
            "",
            "Where the two protection settings choose the same blocks, none of the least important blocks "
            "was among the first 4 or the last 2.",
            "",
            "CPU seconds to score the blocks on the calibration windows: "
            + ", ".join(f"{label} {seconds:.1f}" for label, seconds in scoring_seconds.items())
            + ". The perplexity criterion runs the full model once per block plus once for the baseline.",
            "",
        ]
    lines += [
        f"Last block (29), 1 − cosine: {last_block[0]:.3f} on its own output, {last_block[1]:.3f} when the "
        "model's final hidden state (after the final norm) is taken as its output instead.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=32, help="number of calibration windows")
    parser.add_argument("--window-length", type=int, default=128, help="tokens per window")
    parser.add_argument("--heldout", type=int, default=16, help="number of held-out windows for perplexity")
    parser.add_argument("--batch-size", type=int, default=8, help="windows per forward pass")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats of each run")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads; 1 keeps CPU times comparable on a busy machine")
    parser.add_argument("--skip-perplexity", action="store_true", help="time the runs only")
    parser.add_argument("--output", type=Path, default=REPOSITORY / "docs" / "benchmarks.md",
                        help="markdown file to write the section into")
    args = parser.parse_args()

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    torch.set_num_threads(args.threads)
    model, tokenizer = load_model(open_source("demo"))
    calibration, heldout = load_calibration_split(
        tokenizer, window_length=args.window_length, num_windows=args.windows, num_heldout=args.heldout
    )
    machine = f"{cpu_model_name()}, {os.cpu_count()} logical cores"
    log(f"{machine}; {calibration.num_windows} x {calibration.window_length} calibration tokens")

    times = time_runs(model, calibration, args.batch_size, args.repeats)
    for name, values in times.items():
        log(f"{name}: CPU s {[round(cpu, 2) for cpu, _ in values]}, wall s {[round(wall, 2) for _, wall in values]}")
    rows, scoring_seconds = ([], {}) if args.skip_perplexity else perplexity_rows(
        model, calibration, heldout, args.batch_size, log
    )
    last_block = last_block_check(model, calibration, args.batch_size)

    text = markdown(args, machine, times, rows, scoring_seconds, last_block, calibration, heldout)
    from speed_docs import write_section

    write_section(args.output, "bench_importance", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
