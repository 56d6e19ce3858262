"""``optipfair-desktop bench MODEL [--compare OTHER]``: speed, memory and perplexity of models."""

from __future__ import annotations

import json

from optipfair_desktop.cli.common import add_model_argument, stderr_progress

MIB = 1024 * 1024


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="measure prefill and decode speed, memory and perplexity; compare with other models",
        description="Benchmark MODEL at batch size 1 and compare it with each --compare model. Runs are "
        "interleaved (A, B, A, B) after warm-ups; figures are medians with the IQR as spread.",
    )
    add_model_argument(parser)
    parser.add_argument("--compare", action="append", default=[], metavar="OTHER",
                        help="another model to compare with MODEL (folder, .gguf, cached repo id or 'demo'); "
                        "repeat for more")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "mps"), help="device to run on (default cpu)")
    parser.add_argument("--dtype", default="auto", choices=("auto", "float32", "bfloat16", "float16"),
                        help="dtype to run at; auto keeps each model's stored dtype (default)")
    parser.add_argument("--tokens", type=int, default=32, metavar="N", help="new tokens generated per run (default 32)")
    parser.add_argument("--prompt-length", type=int, default=128, metavar="N", help="prompt length in tokens (default 128)")
    parser.add_argument("--repeats", type=int, default=5, metavar="N", help="timed runs per model (default 5)")
    parser.add_argument("--warmups", type=int, default=1, metavar="N", help="untimed runs per model first (default 1)")
    parser.add_argument("--threads", type=int, default=0, metavar="N",
                        help="torch CPU threads during the run; 0 keeps torch's default (default 0)")
    parser.add_argument("--perplexity", action="store_true",
                        help="also measure perplexity on the shipped calibration text")
    parser.add_argument("--perplexity-file", metavar="FILE", help="also measure perplexity on FILE (.txt or .jsonl)")
    parser.add_argument("--context-length", type=int, default=512, metavar="N",
                        help="perplexity window in tokens (default 512)")
    parser.add_argument("--stride", type=int, default=256, metavar="N", help="perplexity stride in tokens (default 256)")
    parser.add_argument("--no-history", action="store_true", help="do not add the result to the benchmark history")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    parser.set_defaults(run=run)


def _settings(args):
    from optipfair_desktop.engine.bench import BenchSettings
    from optipfair_desktop.engine.bench.devices import check_device

    settings = BenchSettings(
        device=args.device, dtype=args.dtype, prompt_length=args.prompt_length, new_tokens=args.tokens,
        repeats=args.repeats, warmups=args.warmups, torch_threads=args.threads,
        perplexity_context_length=args.context_length,
        perplexity_stride=args.stride,
    )
    settings.check()
    check_device(settings.device)
    return settings


def _format_summary(summary, scale: float = 1.0, digits: int = 1) -> str:
    return f"{summary.median * scale:.{digits}f} [{summary.q1 * scale:.{digits}f}-{summary.q3 * scale:.{digits}f}]"


def _print_context(record) -> None:
    settings = record.settings
    machine = record.machine
    gpu = f", {machine.gpu}" if machine.gpu else ""
    print(f"Machine: {machine.cpu_model}, {machine.physical_cores} cores{gpu}; "
          f"torch {machine.torch}, transformers {machine.transformers}")
    print(f"Settings: device {settings.device}, dtype {settings.dtype}, batch 1, prompt {settings.prompt_length} tokens, "
          f"{settings.new_tokens} new tokens, {settings.warmups} warm-up(s), {settings.repeats} repeats "
          f"interleaved, torch threads {settings.torch_threads}. Figures are median [IQR].")


def _print_models(record) -> None:
    header = f"{'model':<28} {'blocks':>6} {'params M':>9} {'prefill tok/s':>22} {'decode tok/s':>20} " \
             f"{'TTFT ms':>8} {'peak MiB':>9} {'run MiB':>8} {'KV MiB':>7}"
    print(header)
    for model in record.models:
        print(f"{model.label[:28]:<28} {model.num_blocks:>6} {model.parameters / 1e6:>9.2f} "
              f"{_format_summary(model.prefill_tokens_per_s):>22} {_format_summary(model.decode_tokens_per_s):>20} "
              f"{model.time_to_first_token_s.median * 1000:>8.1f} {model.peak_memory_bytes / MIB:>9.0f} "
              f"{model.run_memory_bytes / MIB:>8.1f} {model.kv_cache_bytes / MIB:>7.2f}")
    if record.models:
        print(f"Memory: {record.models[0].memory_method}. Run MiB is the peak minus the memory in use at the "
              "start of a warm-up run, KV MiB the key/value cache at the end of a run.")

    for model in record.models:
        for result in model.perplexity:
            print(f"Perplexity of {model.label} on {result.text_name}: {result.perplexity:.3f} "
                  f"({result.tokens_scored} tokens, context {result.context_length}, stride {result.stride}, "
                  f"{result.dtype})")


def _print_comparisons(record) -> None:
    for comparison in record.comparisons:
        decode = comparison.decode_speedup
        print()
        print(f"{comparison.label} against {comparison.baseline}: decode x{decode.median:.2f} "
              f"[{decode.q1:.2f}-{decode.q3:.2f}], prefill x{comparison.prefill_speedup.median:.2f}, "
              f"bound x{comparison.decode_bound:.2f}")
        print(f"  {comparison.note}")


def print_record(record) -> None:
    """Print a benchmark record as a short report."""
    _print_context(record)
    print()
    _print_models(record)
    _print_comparisons(record)


def run(args) -> int:
    from optipfair_desktop.engine.bench import (
        BenchHistory,
        folder_candidate,
        perplexity_text,
        run_benchmark,
    )

    settings = _settings(args)
    texts = []
    if args.perplexity:
        texts.append(perplexity_text(None))
    if args.perplexity_file:
        texts.append(perplexity_text(args.perplexity_file))
    candidates = [folder_candidate(spec, kind="folder") for spec in [args.model, *args.compare]]

    record = run_benchmark(candidates, settings, perplexity_texts=texts, progress=stderr_progress())
    if not args.no_history:
        BenchHistory().append(record)
    if args.json:
        print(json.dumps(record.to_dict(), indent=2))
    else:
        print_record(record)
    return 0
