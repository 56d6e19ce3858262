"""Measure how long the GUI thread stalls while the benchmark panel runs jobs on the demo.

Usage::

    python benchmarks/bench_gui_stall.py [--tokens 32] [--prompt-length 128] [--repeats 3]
        [--screenshot docs/images/bench_panel.png] [--output docs/benchmarks.md]

Goal: while any job runs, the GUI thread never stalls for more than 50 ms. A ``StallProbe``
(a 10 ms precise QTimer) records the max gap between ticks while the offscreen panel runs two
jobs in a worker thread. The first is a benchmark of the demo against a plan without blocks
25, 26 and 27, which includes loading the model and building the planned copy. The second is
the side-by-side generations.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Keep the user's benchmark history out of this script's runs.
os.environ["OPTIPFAIR_DESKTOP_DATA"] = tempfile.mkdtemp(prefix="bench-gui-stall-")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_docs import DEFAULT_OUTPUT, REPOSITORY, run_context, write_section  # noqa: E402

sys.path.insert(0, str(REPOSITORY))
GOAL_MS = 50.0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=32, help="new tokens per run")
    parser.add_argument("--prompt-length", type=int, default=128, help="prompt length in tokens")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per model")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch; 0 keeps torch's default")
    parser.add_argument("--screenshot", type=Path, help="save a PNG of the panel with the results")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="Markdown file to update")
    return parser.parse_args()


def wait_for(app, condition, timeout_s: float = 1800.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the job did not finish in time")
        app.processEvents()
        time.sleep(0.002)


def probe_job(app, panel, start, signal):
    """Run one panel job under a stall probe; return its duration, the probe and its late ticks.

    Each late tick comes with the last progress message before the gap began, which names the
    step that held the GUI thread.
    """
    from optipfair_desktop.gui.stall_probe import StallProbe

    done = []
    messages = []
    panel.runner.sigProgress.connect(lambda fraction, message: messages.append((time.perf_counter(), message)))
    signal.connect(lambda *_: done.append(True))
    panel.runner.sigFailed.connect(lambda name, message: done.append(message))
    probe = StallProbe(interval_ms=10, goal_ms=GOAL_MS)
    probe.start()
    began = time.perf_counter()
    start()
    wait_for(app, lambda: done)
    probe.stop()
    duration = time.perf_counter() - began
    if done[0] is not True:
        raise RuntimeError(f"the job failed: {done[0]}")

    late = []
    for tick_time, gap_ms in probe.late_ticks:
        before = [message for stamp, message in messages if stamp <= tick_time - gap_ms / 1000]
        late.append((gap_ms, before[-1] if before else "(before the first progress message)"))
    return duration, probe, late


def main() -> int:
    args = parse_args()
    from PySide6.QtWidgets import QApplication

    from optipfair_desktop.engine.sources import open_source
    from optipfair_desktop.engine.structure import read_structure
    from optipfair_desktop.gui.bench.panel import BenchPanel
    from optipfair_desktop.gui.session import Session

    app = QApplication.instance() or QApplication([])
    session = Session()
    source = open_source("demo")
    session.open(source, read_structure(source.folder))
    session.set_plan(session.plan.replace(remove_blocks=[25, 26, 27]))
    panel = BenchPanel(session)
    panel.resize(1400, 1000)
    panel.show()
    box = panel.settings_box
    box.prompt_spin.setValue(args.prompt_length)
    box.tokens_spin.setValue(args.tokens)
    box.repeats_spin.setValue(args.repeats)
    box.max_tokens_spin.setValue(1024)
    box.threads_spin.setValue(args.threads)

    figures = []
    for job, start, signal in (
        ("benchmark (load, build plan, time, perplexity)", panel.start_benchmark, panel.sigRecordAdded),
        ("side-by-side generations", panel.start_generations, panel.sigGenerationsShown),
    ):
        duration, probe, late = probe_job(app, panel, start, signal)
        figures.append((job, duration, probe, late))
        print(f"{job}: {probe.max_gap_ms:.0f} ms max gap, {probe.gaps_over_goal} gaps over "
              f"{GOAL_MS:.0f} ms, {probe.ticks} ticks", flush=True)
        for gap_ms, message in late:
            print(f"  {gap_ms:.0f} ms gap after progress message {message!r}")

    if args.screenshot:
        panel.tabs.setCurrentIndex(0)
        app.processEvents()
        args.screenshot.parent.mkdir(parents=True, exist_ok=True)
        panel.grab().save(str(args.screenshot))
        print(f"Saved {args.screenshot}")

    lines = [
        "## GUI responsiveness while the benchmark panel runs jobs",
        "",
        run_context(),
        f"Goal: the GUI thread never stalls for more than {GOAL_MS:.0f} ms while a job runs. Probe: a 10 ms "
        "precise QTimer on the GUI thread (offscreen platform); the figure is the max gap between "
        f"two ticks. Benchmark settings: prompt {args.prompt_length} tokens, {args.tokens} new tokens, "
        f"{args.repeats} repeats, perplexity on 1024 calibration tokens, torch threads "
        f"{args.threads or 'default'}.",
        "",
        f"| job | duration | max gap | gaps over {GOAL_MS:.0f} ms |",
        "| --- | --- | --- | --- |",
    ]
    for job, duration, probe, _ in figures:
        lines.append(f"| {job} | {duration:.0f} s | {probe.max_gap_ms:.0f} ms | {probe.gaps_over_goal} |")
    lines += ["", f"Gaps over {GOAL_MS:.0f} ms, with the last progress message before each:", ""]
    for job, _, _, late in figures:
        for gap_ms, message in late:
            lines.append(f"* {job}: {gap_ms:.0f} ms after \"{message}\"")
    write_section(args.output, "bench_gui_stall", "\n".join(lines))
    print(f"Wrote {args.output}")
    panel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
