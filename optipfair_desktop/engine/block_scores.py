"""Block importance results and the choice of the blocks to remove from them."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Sequence

CRITERIA = ("cosine", "angular", "perplexity")
CRITERION_LABELS = {
    "cosine": "1 − cosine similarity",
    "angular": "angular distance",
    "perplexity": "perplexity increase",
}


@dataclass(frozen=True)
class BlockScores:
    """One importance score per block (per run of ``run_length`` blocks); higher means more important.

    ``scores[i]`` belongs to block ``i``, or to the run of blocks ``i .. i + run_length - 1``. A score
    that could not be computed (no real token, a NaN) is None: unknown, never 0.
    """

    criterion: str
    scores: list[float | None]
    run_length: int = 1
    settings: dict[str, Any] = field(default_factory=dict)
    baseline_perplexity: float | None = None  # perplexity of the full model, for the perplexity criterion

    @property
    def num_known(self) -> int:
        return sum(score is not None for score in self.scores)

    def blocks_of(self, index: int) -> list[int]:
        """Return the blocks that ``scores[index]`` covers."""
        return list(range(index, index + self.run_length))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "BlockScores":
        return cls(
            criterion=str(data["criterion"]),
            scores=[None if score is None else float(score) for score in data["scores"]],
            run_length=int(data.get("run_length", 1)),
            settings=dict(data.get("settings", {})),
            baseline_perplexity=data.get("baseline_perplexity"),
        )


def clean_score(value: float) -> float | None:
    """Map NaN to None (unknown); finite values and infinities pass through."""
    return None if value is None or math.isnan(value) else float(value)


def select_least_important(
    scores: BlockScores | Sequence[float | None], n: int, protected: Iterable[int] = ()
) -> list[int]:
    """Choose ``n`` blocks to remove, least important first, skipping protected and unknown ones.

    With a :class:`BlockScores` of runs (``run_length > 1``), ``n`` must equal the run length and
    the result is the unprotected run with the lowest known score, as consecutive block indices.
    Ties go to the lower block index. Raises ValueError when too few blocks qualify.
    """
    if n < 0:
        raise ValueError(f"number of blocks to remove must be 0 or more, got {n}")
    if n == 0:
        return []
    protected = {int(index) for index in protected}
    run_length = scores.run_length if isinstance(scores, BlockScores) else 1
    values = list(scores.scores if isinstance(scores, BlockScores) else scores)

    if run_length > 1:
        if n != run_length:
            raise ValueError(
                f"these scores rate runs of {run_length} consecutive blocks, so they choose exactly "
                f"{run_length} blocks, not {n}; analyze with run length {n} instead"
            )
        candidates = [
            (value, start) for start, value in enumerate(values)
            if value is not None and not math.isnan(value)
            and not protected.intersection(range(start, start + run_length))
        ]
        if not candidates:
            raise ValueError(
                f"no run of {run_length} consecutive blocks is free of protected blocks and has a known "
                "score; protect fewer blocks or use a shorter run"
            )
        _, start = min(candidates)
        return list(range(start, start + run_length))

    candidates = sorted(
        (value, block_idx) for block_idx, value in enumerate(values)
        if value is not None and not math.isnan(value) and block_idx not in protected
    )
    if len(candidates) < n:
        raise ValueError(
            f"only {len(candidates)} block(s) are unprotected and have a known score, fewer than the "
            f"{n} requested; protect fewer blocks or remove fewer"
        )
    return [block_idx for _, block_idx in candidates[:n]]
