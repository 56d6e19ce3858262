"""User folders for cached conversions, kept results and settings.

Each folder comes from platformdirs unless an environment variable overrides it, which the
tests use to stay away from the user's real folders.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "optipfair-desktop"


def _folder(variable: str, default: str) -> Path:
    path = Path(os.environ.get(variable) or default)
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Folder for converted models (GGUF to safetensors) and cached analysis results."""
    return _folder("OPTIPFAIR_DESKTOP_CACHE", platformdirs.user_cache_dir(APP_NAME))


def data_dir() -> Path:
    """Folder for results the user expects to see again, such as benchmark history."""
    return _folder("OPTIPFAIR_DESKTOP_DATA", platformdirs.user_data_dir(APP_NAME))


def config_dir() -> Path:
    """Folder for the GUI settings file."""
    return _folder("OPTIPFAIR_DESKTOP_CONFIG", platformdirs.user_config_dir(APP_NAME))
