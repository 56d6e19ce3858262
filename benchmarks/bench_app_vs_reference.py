"""Time this app's own work against the reference library (optipfair 0.4.2) on the demo model.

Usage::

    python benchmarks/bench_app_vs_reference.py [--repeats 3] [--output docs/benchmarks.md]

Every measurement runs in a fresh Python process, so imports are paid each time and the peak
resident set size (``ru_maxrss``, which only grows, read at the end of the process) is the
peak of that task alone. Runs alternate app, reference, app, reference; medians are reported.

Both sides read the same files: the demo GGUF converted once (before any timing) into a plain
safetensors folder, which is what the reference's users load from the Hugging Face Hub.

* Time to show the demo's structure. App: ``read_structure(open_source("demo").folder)``, which
  reads config.json and the safetensors headers. Reference users: load the model with
  ``AutoModelForCausalLM.from_pretrained`` and walk its layers.
* Prune and save, for a width plan (expansion rate 200%, divisor 64, PPM/MAW) and a depth plan
  (blocks 25, 26, 27). App: ``load_model`` + ``build_pruned_model`` + ``save_checkpoint``
  (which also reloads the checkpoint and compares logits). Reference: ``from_pretrained`` +
  ``optipfair.prune_model`` + ``save_pretrained`` of model and tokenizer.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_docs import DEFAULT_OUTPUT, REPOSITORY, run_context, write_section  # noqa: E402

RESULT_MARKER = "BENCH-RESULT "
REMOVED_BLOCKS = [25, 26, 27]
EXPANSION_RATE = 200.0
DIVISOR = 64

# Each task runs as ``python bench_app_vs_reference.py --task NAME --output-dir DIR`` in a child.
TASKS = ("structure_app", "structure_reference", "prune_app_width", "prune_reference_width",
         "prune_app_depth", "prune_reference_depth")


def _peak_rss_bytes() -> int:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


def _demo_folder() -> Path:
    """Return the demo as a plain safetensors folder (converted before any timing).

    The reference's users would load a Hugging Face folder like this one; a model loaded from
    GGUF cannot be saved with ``save_pretrained``.
    """
    sys.path.insert(0, str(REPOSITORY))
    from optipfair_desktop.engine.gguf_import import converted_folder
    from optipfair_desktop.engine.sources import demo_gguf_path

    return converted_folder(demo_gguf_path())


def task_structure_app(clock, output_dir) -> dict:
    sys.path.insert(0, str(REPOSITORY))
    from optipfair_desktop.engine.sources import open_source
    from optipfair_desktop.engine.structure import read_structure

    structure = read_structure(open_source("demo").folder)
    return {"blocks": structure.num_blocks, "show_s": clock()}


def task_structure_reference(clock, output_dir) -> dict:
    from optipfair.pruning.utils import get_model_layers
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(_demo_folder())
    layers = get_model_layers(model)
    [sum(p.numel() for p in layer.parameters()) for layer in layers]
    return {"blocks": len(layers), "show_s": clock()}


def _app_prune(clock, output_dir, plan_changes) -> dict:
    sys.path.insert(0, str(REPOSITORY))
    from optipfair_desktop.engine.checkpoint import save_checkpoint
    from optipfair_desktop.engine.loading import load_model
    from optipfair_desktop.engine.plan import PruningPlan
    from optipfair_desktop.engine.pruning import build_pruned_model
    from optipfair_desktop.engine.sources import open_source
    from optipfair_desktop.engine.structure import read_structure
    from optipfair_desktop.engine.workflow import card_facts

    source = open_source("demo")
    structure = read_structure(source.folder)
    model, tokenizer = load_model(source)
    loaded = clock()
    plan = PruningPlan(source={**structure.identity(), "name": source.name}).replace(**plan_changes)
    pruned = build_pruned_model(model, plan).model
    pruned_at = clock()
    output = Path(output_dir) / "app"
    save_checkpoint(pruned, tokenizer, plan, output, source_folders=[source.folder, source.original_path],
                    card_facts=card_facts(source, structure, plan, output), overwrite=True)
    saved = clock()
    return {"load_s": loaded, "prune_s": pruned_at - loaded, "save_s": saved - pruned_at, "total_s": saved}


def _reference_prune(clock, output_dir, prune_arguments) -> dict:
    import optipfair
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = _demo_folder()
    model = AutoModelForCausalLM.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    loaded = clock()
    model = optipfair.prune_model(model, show_progress=False, **prune_arguments)
    pruned_at = clock()
    output = Path(output_dir) / "reference"
    model.save_pretrained(output)
    tokenizer.save_pretrained(output)
    saved = clock()
    return {"load_s": loaded, "prune_s": pruned_at - loaded, "save_s": saved - pruned_at, "total_s": saved}


def task_prune_app_width(clock, output_dir) -> dict:
    from optipfair_desktop.engine.plan import WidthTarget

    return _app_prune(clock, output_dir, {"width": WidthTarget("expansion_rate", EXPANSION_RATE),
                                          "divisor": DIVISOR, "method": "ppm"})


def task_prune_reference_width(clock, output_dir) -> dict:
    return _reference_prune(clock, output_dir, {"pruning_type": "MLP_GLU", "neuron_selection_method": "MAW",
                                                "pruning_percentage": None, "expansion_rate": EXPANSION_RATE,
                                                "expansion_divisor": DIVISOR})


def task_prune_app_depth(clock, output_dir) -> dict:
    return _app_prune(clock, output_dir, {"remove_blocks": REMOVED_BLOCKS})


def task_prune_reference_depth(clock, output_dir) -> dict:
    return _reference_prune(clock, output_dir, {"pruning_type": "DEPTH", "layer_indices": REMOVED_BLOCKS})


def run_child(task: str, output_dir: str) -> None:
    import time

    start = time.perf_counter()
    sys.path.insert(0, str(REPOSITORY))
    result = globals()[f"task_{task}"](lambda: time.perf_counter() - start, output_dir)
    result["peak_rss_bytes"] = _peak_rss_bytes()
    print(RESULT_MARKER + json.dumps(result), flush=True)


def measure(task: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-app-ref-") as output_dir:
        completed = subprocess.run(
            [sys.executable, __file__, "--task", task, "--output-dir", output_dir],
            capture_output=True, text=True, check=False,
            env={**__import__("os").environ, "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"},
        )
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"task {task} failed with exit code {completed.returncode}:\n{completed.stderr[-3000:]}")
    return json.loads(lines[-1][len(RESULT_MARKER):])


def median_of(results: list[dict], key: str) -> float:
    return statistics.median(result[key] for result in results)


def markdown(results: dict[str, list[dict]], repeats: int) -> str:
    def pair(app_task, reference_task, key):
        app = median_of(results[app_task], key)
        reference = median_of(results[reference_task], key)
        return app, reference, reference / app

    lines = [
        "## The app against the reference library (optipfair 0.4.2)",
        "",
        run_context(),
        f"Each figure is the median of {repeats} fresh processes, alternating app and reference. "
        "Peak RSS is `ru_maxrss` of the process. Ratios are reference divided by app, so above 1 "
        "means the app is faster or smaller.",
        "",
        "| measurement | app | reference | reference / app |",
        "| --- | --- | --- | --- |",
    ]
    app, reference, ratio = pair("structure_app", "structure_reference", "show_s")
    lines.append(f"| time to show the demo's structure | {app:.2f} s | {reference:.2f} s | {ratio:.1f} |")
    app, reference, ratio = pair("structure_app", "structure_reference", "peak_rss_bytes")
    lines.append(f"| peak RSS while showing it | {app / 2**20:.0f} MiB | {reference / 2**20:.0f} MiB | {ratio:.1f} |")
    for plan in ("width", "depth"):
        app_task, reference_task = f"prune_app_{plan}", f"prune_reference_{plan}"
        for key, phase in (("load_s", "load"), ("prune_s", "prune"), ("save_s", "save"), ("total_s", "total")):
            app, reference, ratio = pair(app_task, reference_task, key)
            lines.append(f"| {plan} plan: {phase} | {app:.2f} s | {reference:.2f} s | {ratio:.2f} |")
        app, reference, ratio = pair(app_task, reference_task, "peak_rss_bytes")
        lines.append(f"| {plan} plan: peak RSS | {app / 2**20:.0f} MiB | {reference / 2**20:.0f} MiB | {ratio:.2f} |")
    lines += [
        "",
        "Width plan: expansion rate 200%, divisor 64, PPM (`MAW` in the reference). Depth plan: blocks "
        "25, 26 and 27 removed. Both load the same converted safetensors folder of the demo "
        "(float32). The app prunes a copy, so the "
        "loaded original stays usable, and its save reloads the checkpoint and compares logits; "
        "the reference prunes in place and saves without a check.",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per task")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="Markdown file to update")
    parser.add_argument("--task", choices=TASKS, help=argparse.SUPPRESS)
    parser.add_argument("--output-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.task:
        run_child(args.task, args.output_dir)
        return 0

    sys.path.insert(0, str(REPOSITORY))
    from optipfair_desktop.engine.sources import open_source

    open_source("demo")  # convert the GGUF once, outside every timing
    results: dict[str, list[dict]] = {task: [] for task in TASKS}
    for repeat in range(args.repeats):
        for task in TASKS:
            print(f"repeat {repeat + 1}/{args.repeats}: {task}", file=sys.stderr, flush=True)
            results[task].append(measure(task))
    text = markdown(results, args.repeats)
    print(text)
    write_section(args.output, "bench_app_vs_reference", text)
    print(f"\nWrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
