"""Write one script's section of docs/benchmarks.md, leaving the other sections alone.

Each script owns the text between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``; a missing
section is appended at the end of the file.
"""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPOSITORY / "docs" / "benchmarks.md"
TITLE = "# Benchmarks\n"


def write_section(path: Path, name: str, body: str) -> None:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    section = f"{start}\n{body.rstrip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.is_file() else TITLE
    if start in text and end in text:
        before = text.split(start, 1)[0]
        after = text.split(end, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def run_context() -> str:
    """Describe the command, date and machine of this run as Markdown lines."""
    sys.path.insert(0, str(REPOSITORY))
    from optipfair_desktop.engine.bench.machine import machine_info

    machine = machine_info()
    load = ""
    if hasattr(os, "getloadavg"):
        load = f" Load average (1 min) at the end of the run: {os.getloadavg()[0]:.1f}, from all processes."
    command = " ".join(shlex.quote(part) for part in ["python", *sys.argv])
    today = datetime.date.today().isoformat()
    return (
        f"Command: `{command}` ({today}).\n"
        f"Machine: {machine.cpu_model}, {machine.physical_cores} physical cores, "
        f"{machine.memory_bytes / 2**30:.0f} GiB RAM{', ' + machine.gpu if machine.gpu else ''}; "
        f"{platform.system()}, Python {machine.python}, torch {machine.torch}, "
        f"transformers {machine.transformers}.{load}"
    )
