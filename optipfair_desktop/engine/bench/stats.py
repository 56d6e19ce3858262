"""Median and spread of repeated measurements.

The spread reported everywhere is the interquartile range (IQR): the 75th minus the 25th
percentile, with linear interpolation as in ``numpy.percentile``. The minimum and maximum are
kept as well.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

SPREAD_NAME = "IQR (25th to 75th percentile)"


@dataclass(frozen=True)
class Summary:
    """Median, quartiles and range of repeated measurements, with the values themselves."""

    median: float
    q1: float
    q3: float
    minimum: float
    maximum: float
    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Sequence[float]) -> "Summary":
        if len(values) == 0:
            raise ValueError("cannot summarise an empty list of measurements")
        array = np.asarray(values, dtype=float)
        q1, median, q3 = np.percentile(array, [25, 50, 75])
        return cls(float(median), float(q1), float(q3), float(array.min()), float(array.max()),
                   tuple(float(value) for value in array))

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @property
    def relative_spread(self) -> float:
        """IQR as a fraction of the median (0.05 means 5%)."""
        return self.iqr / self.median if self.median else float("inf")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["values"] = list(self.values)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Summary":
        return cls(data["median"], data["q1"], data["q3"], data["minimum"], data["maximum"],
                   tuple(data["values"]))


def paired_ratios(candidate: Sequence[float], baseline: Sequence[float]) -> list[float]:
    """Divide each candidate run by the baseline run of the same pair."""
    if len(candidate) != len(baseline):
        raise ValueError(f"paired runs differ in number: {len(candidate)} against {len(baseline)}")
    return [value / reference for value, reference in zip(candidate, baseline)]
