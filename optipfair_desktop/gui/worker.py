"""One worker type that runs any engine function in a QThread.

The engine function receives ``progress`` and ``cancel`` keyword arguments (see
``optipfair_desktop.engine.progress``). Progress reports cross to the GUI thread as queued
signals and are throttled, so a chatty function cannot flood the event loop. The function's
return value, which must be plain data or torch objects that no widget touches, arrives
through ``sigFinished``.
"""

from __future__ import annotations

import logging
import time
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, Signal

from optipfair_desktop.engine.progress import CancelToken, Cancelled

logger = logging.getLogger(__name__)

# Progress signals closer together than this are dropped (the last one of a job always passes).
PROGRESS_INTERVAL_S = 0.05


class JobThread(QThread):
    """Runs ``function(*args, progress=..., cancel=..., **kwargs)`` off the GUI thread."""

    sigProgress = Signal(float, str)
    sigFinished = Signal(object)
    sigFailed = Signal(str)
    sigCancelled = Signal()

    def __init__(self, name: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.name = name
        self._function = function
        self._args = args
        self._kwargs = kwargs
        self.cancel_token = CancelToken()
        self._last_emit = 0.0
        self.result: Any = None
        self.error: str | None = None
        self.was_cancelled = False

    def cancel(self) -> None:
        self.cancel_token.cancel()

    def _report(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        if fraction < 1.0 and now - self._last_emit < PROGRESS_INTERVAL_S:
            return
        self._last_emit = now
        self.sigProgress.emit(float(fraction), message)

    def run(self) -> None:  # runs in the worker thread
        logger.info("Job '%s' started", self.name)
        try:
            self.result = self._function(
                *self._args, progress=self._report, cancel=self.cancel_token, **self._kwargs
            )
        except Cancelled:
            self.was_cancelled = True
            logger.info("Job '%s' cancelled", self.name)
            self.sigCancelled.emit()
            return
        except Exception as error:  # noqa: BLE001 - every failure is reported to the user
            self.error = f"{type(error).__name__}: {error}" if not isinstance(error, ValueError) else str(error)
            logger.error("Job '%s' failed: %s", self.name, self.error)
            logger.debug("%s", traceback.format_exc())
            self.sigFailed.emit(self.error)
            return
        logger.info("Job '%s' finished", self.name)
        self.sigFinished.emit(self.result)


class JobRunner(QObject):
    """Owns at most one running job for one view; starting a new job cancels the old one."""

    sigStarted = Signal(str)
    sigProgress = Signal(float, str)
    sigFinished = Signal(str, object)
    sigFailed = Signal(str, str)
    sigCancelled = Signal(str)
    sigIdle = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.current: JobThread | None = None
        self._retired: list[JobThread] = []

    @property
    def is_busy(self) -> bool:
        return self.current is not None and self.current.isRunning()

    def start(self, name: str, function: Callable[..., Any], *args: Any,
              on_finished: Callable[[Any], None] | None = None, **kwargs: Any) -> JobThread:
        self.cancel()
        job = JobThread(name, function, *args, **kwargs)
        job.sigProgress.connect(self.sigProgress)
        job.sigFinished.connect(lambda result, n=name: self.sigFinished.emit(n, result))
        if on_finished is not None:
            job.sigFinished.connect(on_finished)
        job.sigFailed.connect(lambda message, n=name: self.sigFailed.emit(n, message))
        job.sigCancelled.connect(lambda n=name: self.sigCancelled.emit(n))
        job.finished.connect(lambda j=job: self._on_thread_finished(j))
        self.current = job
        self.sigStarted.emit(name)
        job.start()
        return job

    def cancel(self) -> None:
        if self.current is not None and self.current.isRunning():
            self.current.cancel()
            # Keep a reference until the thread ends, or Qt destroys a running QThread.
            self._retired.append(self.current)
        self.current = None

    def shutdown(self, wait_ms: int = 10_000) -> bool:
        """Cancel the job and block until every thread of this runner ends; only for closing the app.

        Returns False if a thread was still running after ``wait_ms`` milliseconds.
        """
        current = self.current
        self.cancel()
        threads = [job for job in [current, *self._retired] if job is not None]
        return all(job.wait(wait_ms) for job in threads)

    def _on_thread_finished(self, job: JobThread) -> None:
        if job in self._retired:
            self._retired.remove(job)
        if job is self.current:
            self.current = None
        # Idle once no job of this runner is running, including after a cancel.
        if self.current is None and not any(j.isRunning() for j in self._retired):
            try:
                self.sigIdle.emit()
            except RuntimeError:
                pass  # the runner's owner was destroyed while a cancelled job was still ending
