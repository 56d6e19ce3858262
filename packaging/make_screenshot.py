"""Make the README's main-window screenshot: the demo after an importance analysis and a plan.

Run under a virtual screen: ``xvfb-run -a -s "-screen 0 1700x1050x24" python packaging/make_screenshot.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "images" / "main_window.png"


def main() -> int:
    import pyqtgraph

    from optipfair_desktop.gui.main_window import MainWindow

    app = QApplication(sys.argv)
    pyqtgraph.setConfigOptions(antialias=True, background="w", foreground="k")
    window = MainWindow()
    window.resize(1600, 1000)
    window.show()
    importance = window.analysis_panels["Importance"]
    steps = iter([
        lambda: window.open_model("demo"),
        lambda: importance.analyze(),
        lambda: importance.select_least_important_blocks(),
        lambda: window.width_panel.set_target("expansion_rate", 200, "ppm", 64),
        lambda: window.session.select_block(14),
    ])

    def busy() -> bool:
        return window.runner.is_busy or importance.runner.is_busy

    def advance() -> None:
        if busy():
            QTimer.singleShot(300, advance)
            return
        step = next(steps, None)
        if step is None:
            QTimer.singleShot(1500, finish)
            return
        step()
        QTimer.singleShot(500, advance)

    def finish() -> None:
        window.grab().save(str(OUTPUT))
        print(f"saved {OUTPUT}")
        window.close()
        app.quit()

    QTimer.singleShot(300, advance)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
