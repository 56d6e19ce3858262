"""Blocks marked protected: removing them usually hurts most, so the GUI requests confirmation first."""

from __future__ import annotations

DEFAULT_PROTECTED_FIRST = 4
DEFAULT_PROTECTED_LAST = 2


def default_protected_blocks(num_blocks: int, first: int = DEFAULT_PROTECTED_FIRST,
                             last: int = DEFAULT_PROTECTED_LAST) -> set[int]:
    """Return the first ``first`` and last ``last`` block indices."""
    if first < 0 or last < 0:
        raise ValueError(f"Protected block counts must be 0 or more; got first={first}, last={last}.")
    head = set(range(min(first, num_blocks)))
    tail = set(range(max(num_blocks - last, 0), num_blocks))
    return head | tail
