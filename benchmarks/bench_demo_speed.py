"""Benchmark the demo model against a depth plan and a width plan on this machine.

Usage::

    python benchmarks/bench_demo_speed.py [--tokens 32] [--prompt-length 128] [--repeats 7]
        [--warmups 1] [--threads N] [--remove-blocks 25,26,27] [--expansion-rate 200]
        [--divisor 64] [--device cpu] [--output docs/benchmarks.md]

Models: SmolLM2-135M-Instruct (the demo, float32 after the GGUF conversion) and a control, a
deep copy of it whose speed-up should be x1.00. Then the demo without three blocks (depth
pruning), and the demo with every MLP cut to an expansion rate of 200% rounded to a multiple
of 64 (width pruning). All stay in memory and are timed with the app's engine: warm-ups, then repeats
interleaved A, B, C, D; medians, IQR as the spread, speed-ups as medians of per-round ratios.
Perplexity is measured on the shipped calibration text.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_docs import DEFAULT_OUTPUT, REPOSITORY, run_context, write_section  # noqa: E402

sys.path.insert(0, str(REPOSITORY))
from optipfair_desktop.cli.bench_command import print_record  # noqa: E402
from optipfair_desktop.engine.bench import (  # noqa: E402
    BenchSettings,
    model_candidate,
    perplexity_text,
    plan_to_dict,
    run_benchmark,
)
from optipfair_desktop.engine.bench.candidates import plan_summary  # noqa: E402
from optipfair_desktop.engine.loading import load_model  # noqa: E402
from optipfair_desktop.engine.plan import PruningPlan, WidthTarget, parse_block_list  # noqa: E402
from optipfair_desktop.engine.pruning import build_pruned_model  # noqa: E402
from optipfair_desktop.engine.sources import open_source  # noqa: E402

MIB = 1024 * 1024


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=32, help="new tokens per run")
    parser.add_argument("--prompt-length", type=int, default=128, help="prompt length in tokens")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per model")
    parser.add_argument("--warmups", type=int, default=1, help="untimed runs per model first")
    parser.add_argument("--threads", type=int, default=0, help="torch threads; 0 keeps torch's default")
    parser.add_argument("--remove-blocks", default="25,26,27", help="blocks removed by the depth plan")
    parser.add_argument("--expansion-rate", type=float, default=200.0, help="width plan's expansion rate in percent")
    parser.add_argument("--divisor", type=int, default=64, help="width plan's divisor")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or mps")
    parser.add_argument("--perplexity-tokens", type=int, default=2048, help="calibration tokens scored")
    parser.add_argument("--no-control", action="store_true", help="leave out the copy of the original")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="Markdown file to update")
    return parser.parse_args()


def _cell(summary, digits=1):
    return f"{summary.median:.{digits}f} [{summary.q1:.{digits}f}-{summary.q3:.{digits}f}]"


def markdown(record, args) -> str:
    settings = record.settings
    lines = [
        "## Demo model: original against depth and width pruning",
        "",
        run_context(),
        f"Settings: device {settings.device}, dtype {record.models[0].dtype}, batch 1, prompt "
        f"{settings.prompt_length} tokens, {settings.new_tokens} new tokens, {settings.warmups} warm-up(s), "
        f"{settings.repeats} repeats interleaved, torch threads {settings.torch_threads}. Figures are "
        "median [IQR]; speed-ups are medians of per-round ratios. Perplexity: calibration text, "
        f"first {settings.perplexity_max_tokens} tokens, context {settings.perplexity_context_length}, "
        f"stride {settings.perplexity_stride}.",
        "",
        "| model | blocks | parameters | MiB read per token | prefill tok/s | decode tok/s | TTFT ms | "
        "KV cache MiB | perplexity |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for model in record.models:
        perplexity = model.perplexity[0].perplexity if model.perplexity else float("nan")
        lines.append(
            f"| {model.label} | {model.num_blocks} | {model.parameters / 1e6:.1f} M | "
            f"{model.bytes_per_token / MIB:.0f} | {_cell(model.prefill_tokens_per_s)} | "
            f"{_cell(model.decode_tokens_per_s)} | {model.time_to_first_token_s.median * 1000:.0f} | "
            f"{model.kv_cache_bytes / MIB:.1f} | {perplexity:.2f} |"
        )
    lines += ["", "| model | decode speed-up | prefill speed-up | bound | verdict |", "| --- | --- | --- | --- | --- |"]
    for comparison in record.comparisons:
        decode = comparison.decode_speedup
        lines.append(
            f"| {comparison.label} | x{decode.median:.2f} [{decode.q1:.2f}-{decode.q3:.2f}] | "
            f"x{comparison.prefill_speedup.median:.2f} | x{comparison.decode_bound:.2f} | {comparison.note} |"
        )
    peaks = ", ".join(f"{model.label} {model.peak_memory_bytes / MIB:.0f} MiB" for model in record.models)
    lines += ["", f"Peak process memory during each model's first warm-up, with all models loaded: {peaks}. "
              f"Method: {record.models[0].memory_method}."]
    return "\n".join(lines)


def main() -> int:
    args = parse_args()
    source = open_source("demo")
    model, tokenizer = load_model(source)
    base_plan = PruningPlan()
    depth_plan = base_plan.replace(remove_blocks=parse_block_list(args.remove_blocks))
    width_plan = base_plan.replace(width=WidthTarget("expansion_rate", args.expansion_rate), divisor=args.divisor)

    candidates = [model_candidate("original", model, tokenizer, kind="original", folder=source.folder)]
    if not args.no_control:
        # Same weights in a fresh copy: its speed-up shows how far the method is from x1.00.
        candidates.append(model_candidate("control: copy of original", copy.deepcopy(model), tokenizer,
                                          kind="model"))
    for name, plan in (("depth", depth_plan), ("width", width_plan)):
        pruned = build_pruned_model(model, plan).model
        as_dict = plan_to_dict(plan)
        candidates.append(model_candidate(f"{name}: {plan_summary(as_dict)}", pruned, tokenizer,
                                          kind="planned", plan=as_dict))

    settings = BenchSettings(device=args.device, prompt_length=args.prompt_length, new_tokens=args.tokens,
                             repeats=args.repeats, warmups=args.warmups, torch_threads=args.threads,
                             perplexity_max_tokens=args.perplexity_tokens)
    last = {"message": ""}

    def progress(fraction, message):
        if message != last["message"]:
            last["message"] = message
            print(f"[{fraction:4.0%}] {message}", file=sys.stderr)

    record = run_benchmark(candidates, settings, perplexity_texts=[perplexity_text(None)], progress=progress)
    print_record(record)
    write_section(args.output, "bench_demo_speed", markdown(record, args))
    print(f"\nWrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
