"""Start the Qt application and the main window."""

from __future__ import annotations

import logging
import sys

logger = logging.getLogger(__name__)


def run_gui(model: str | None = None) -> int:
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
    return app.exec()
