import os
import sys
from pathlib import Path

# Qt must not look for a display in CI; pytest-qt reads this when it creates the QApplication.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

sys.path.insert(0, str(Path(__file__).parent))

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Keep every test away from the user's real settings, data and HF cache folders.

    The converted demo model is the exception: converting it takes about 20 s, so all tests
    share one cache folder for it (OPTIPFAIR_DESKTOP_CACHE, set once per session).
    """
    base = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("OPTIPFAIR_DESKTOP_CONFIG", str(base / "config"))
    monkeypatch.setenv("OPTIPFAIR_DESKTOP_DATA", str(base / "data"))
    if "OPTIPFAIR_DESKTOP_CACHE" not in os.environ:
        shared = tmp_path_factory.getbasetemp() / "shared-cache"
        monkeypatch.setenv("OPTIPFAIR_DESKTOP_CACHE", str(shared))
    yield
