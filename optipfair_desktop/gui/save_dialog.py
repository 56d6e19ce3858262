"""Ask where to save the pruned checkpoint, and whether to replace an existing folder."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from optipfair_desktop.engine.checkpoint import SaveError, check_output_dir


def ask_output_folder(parent: QWidget, suggestion: Path, protected: list[Path]) -> tuple[Path, bool] | None:
    """Return ``(folder, overwrite)`` or None when the user cancels or the path is rejected."""
    path, _ = QFileDialog.getSaveFileName(
        parent, "Save the pruned checkpoint as a new folder", str(suggestion), "Folders (*)",
        options=QFileDialog.Option.DontConfirmOverwrite,
    )
    if not path:
        return None
    return confirm_output_folder(parent, Path(path), protected)


def confirm_output_folder(parent: QWidget, folder: Path, protected: list[Path]) -> tuple[Path, bool] | None:
    overwrite = False
    try:
        check_output_dir(folder, protected, overwrite=False)
    except SaveError as error:
        if "already exists" not in str(error):
            QMessageBox.warning(parent, "Cannot save there", str(error))
            return None
        answer = QMessageBox.question(
            parent, "Replace the folder?",
            f"{folder} already exists and is not empty. Replace it with the pruned checkpoint? "
            "Its current files are deleted only after the new checkpoint is verified.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return None
        overwrite = True
    return folder, overwrite
