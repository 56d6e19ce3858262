"""Peak memory of a measured region, on the CPU, a CUDA GPU or Apple MPS.

* CUDA: ``torch.cuda.max_memory_allocated`` after resetting the peak, so only tensors count
  (the caching allocator's reserve and the CUDA context do not).
* CPU: the process resident set size (RSS) sampled by a thread every few milliseconds. RSS
  counts all memory of the process (the GUI, every loaded model), so the meter also reports
  the increase over the RSS at the start of the region. ``resource.getrusage`` is not
  used because its ``ru_maxrss`` never decreases, so it cannot measure a second region on its own.
* MPS: ``torch.mps.current_allocated_memory`` sampled the same way, because MPS keeps no peak.

NOTE: the CUDA and MPS branches have not run on such hardware; the tests check the CUDA calls
with stand-in functions only.
"""

from __future__ import annotations

import logging
import threading

import psutil
import torch

logger = logging.getLogger(__name__)

SAMPLE_INTERVAL_S = 0.005

METHOD_CUDA = "CUDA max allocated"
METHOD_RSS = "process RSS sampled every 5 ms"
METHOD_MPS = "MPS allocated memory sampled every 5 ms"


class PeakMemoryMeter:
    """Context manager that records ``start_bytes``, ``peak_bytes`` and ``increase_bytes``."""

    def __init__(self, device: torch.device | str, interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self.device = torch.device(device)
        self.interval_s = interval_s
        self.start_bytes = 0
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._process = psutil.Process()
        if self.device.type == "cuda":
            self.method = METHOD_CUDA
        elif self.device.type == "mps":
            self.method = METHOD_MPS
        else:
            self.method = METHOD_RSS

    @property
    def increase_bytes(self) -> int:
        return max(0, self.peak_bytes - self.start_bytes)

    def _read(self) -> int:
        if self.device.type == "mps":
            return int(torch.mps.current_allocated_memory())
        return int(self._process.memory_info().rss)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.peak_bytes = max(self.peak_bytes, self._read())

    def __enter__(self) -> "PeakMemoryMeter":
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.start_bytes = int(torch.cuda.memory_allocated(self.device))
            self.peak_bytes = self.start_bytes
            return self
        self.start_bytes = self._read()
        self.peak_bytes = self.start_bytes
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, name="peak-memory-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak_bytes = int(torch.cuda.max_memory_allocated(self.device))
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        # A last reading catches a peak that lasted until the region's end.
        self.peak_bytes = max(self.peak_bytes, self._read())
