"""Files shipped with the app (calibration text, default prompt pairs, icons)."""

from __future__ import annotations

from importlib import resources as importlib_resources
from pathlib import Path


def resource_path(relative: str) -> Path:
    """Return the path of a shipped file, given relative to the repository's ``resources/`` folder."""
    try:
        root = Path(str(importlib_resources.files("optipfair_desktop.resources")))
    except ModuleNotFoundError:
        root = Path(__file__).resolve().parents[2] / "resources"
    path = root / relative
    if not path.exists():
        raise FileNotFoundError(f"shipped resource {relative!r} not found under {root}; reinstall the app")
    return path
