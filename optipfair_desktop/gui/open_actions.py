"""Dialogs that pick what to open: a model folder, a GGUF file, or a repo in the local HF cache."""

from __future__ import annotations

import logging
import os

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

logger = logging.getLogger(__name__)


def cached_repo_ids() -> list[str]:
    """List the model repos in the local Hugging Face cache (no network)."""
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        info = scan_cache_dir(os.environ.get("HF_HUB_CACHE") or None)
    except CacheNotFound:
        return []
    return sorted(repo.repo_id for repo in info.repos if repo.repo_type == "model")


def ask_folder(parent: QWidget) -> str | None:
    folder = QFileDialog.getExistingDirectory(parent, "Open a Hugging Face model folder")
    return folder or None


def ask_gguf(parent: QWidget) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Open a GGUF file", "", "GGUF files (*.gguf)")
    return path or None


def ask_cached_repo(parent: QWidget) -> str | None:
    repos = cached_repo_ids()
    if not repos:
        QMessageBox.information(
            parent, "No cached models",
            "The local Hugging Face cache holds no models. Download one with `hf download "
            "REPO_ID` on a machine with network access, or open a folder or GGUF file.",
        )
        return None
    repo, ok = QInputDialog.getItem(parent, "Open from the Hugging Face cache", "Repository", repos, 0, False)
    return repo if ok else None
