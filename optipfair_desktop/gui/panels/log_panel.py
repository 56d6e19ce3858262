"""Log lines from every module, shown in the window; records from worker threads arrive queued."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QPlainTextEdit

MAX_LINES = 2000


class _LogBridge(QObject):
    sigRecord = Signal(str)


class QtLogHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.bridge = _LogBridge()
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.bridge.sigRecord.emit(self.format(record))
        except RuntimeError:
            pass  # the panel was destroyed while a worker still logged


class LogPanel(QPlainTextEdit):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(MAX_LINES)
        self.handler = QtLogHandler()
        self.handler.bridge.sigRecord.connect(self.appendPlainText)
        logging.getLogger("optipfair_desktop").addHandler(self.handler)
        logging.getLogger("optipfair_desktop").setLevel(logging.INFO)
        self.destroyed.connect(lambda *_: logging.getLogger("optipfair_desktop").removeHandler(self.handler))

    def detach(self) -> None:
        logging.getLogger("optipfair_desktop").removeHandler(self.handler)
