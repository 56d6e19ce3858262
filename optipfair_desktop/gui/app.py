"""Start the Qt application and the main window."""

from __future__ import annotations

import logging
import sys

logger = logging.getLogger(__name__)


def run_gui(model: str | None = None, screenshot: str | None = None) -> int:
    """Show the main window, optionally open ``model``; with ``screenshot``, save a PNG once it is open and quit."""
    from PySide6.QtWidgets import QApplication

    import pyqtgraph

    from optipfair_desktop.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("OptiPFair Desktop")
    pyqtgraph.setConfigOptions(antialias=True, background="w", foreground="k")
    window = MainWindow()
    window.show()
    if model:
        window.open_model(model)
    if screenshot:
        _save_screenshot_when_idle(app, window, screenshot)
    status = app.exec()
    if window.last_error:
        print(f"error: {window.last_error}", file=sys.stderr)
    return status


def _save_screenshot_when_idle(app, window, path: str) -> None:
    from PySide6.QtCore import QTimer

    def attempt() -> None:
        if window.runner.is_busy:
            QTimer.singleShot(200, attempt)
            return
        window.grab().save(path)
        logger.info("Saved a screenshot of the main window to %s", path)
        window.close()
        # A screenshot of a failed open is still saved, but the exit status reports the failure.
        app.exit(1 if window.last_error else 0)

    QTimer.singleShot(500, attempt)
