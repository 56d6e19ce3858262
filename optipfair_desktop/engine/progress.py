"""Progress and cancellation contract shared by every long engine function.

A long function takes two keyword arguments:

* ``progress(fraction, message)``: called with a fraction in [0, 1] and a short message.
* ``cancel``: a :class:`CancelToken`; the function calls ``cancel.check()`` between steps,
  which raises :class:`Cancelled` once the user asked to stop.

Both default to no-ops, so the functions run the same from tests, the CLI and the GUI worker.
"""

from __future__ import annotations

import threading
from typing import Callable

ProgressCallback = Callable[[float, str], None]


def no_progress(fraction: float, message: str) -> None:
    """Ignore a progress report."""


class Cancelled(Exception):
    """Raised inside a long function when its cancel token was set."""


class CancelToken:
    """Thread-safe flag that a caller sets to stop a running engine function."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def is_cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` if cancellation was requested."""
        if self._event.is_set():
            raise Cancelled("cancelled by the user")


NEVER_CANCELLED = CancelToken()


def sub_progress(progress: ProgressCallback, start: float, end: float) -> ProgressCallback:
    """Map a sub-step's 0..1 range onto ``start..end`` of its parent's range."""
    span = end - start

    def report(fraction: float, message: str) -> None:
        clamped = min(max(fraction, 0.0), 1.0)
        progress(start + span * clamped, message)

    return report
