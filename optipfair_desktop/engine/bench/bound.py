"""Upper bound on the batch-1 decode speed-up that removing weights allows."""

from __future__ import annotations


def decode_speedup_bound(original_bytes_per_token: int, pruned_bytes_per_token: int) -> float:
    """Return the largest batch-1 decode speed-up that the removed weight bytes allow.

    Model: generating one token at batch size 1 is limited by memory bandwidth, so its time is
    proportional to the weight bytes read per token (see ``sizes.bytes_read_per_token``: every
    weight once, one row of the input embedding, the whole LM head). Removing a fraction
    ``f`` of those bytes can at best give ``1 / (1 - f)``. The model ignores the KV cache,
    activations, kernel launch costs and matrix shapes that suit the hardware worse, so a
    measured speed-up is usually below this bound. Width pruning that leaves awkward widths
    can even run slower than the original.
    """
    if original_bytes_per_token <= 0:
        raise ValueError(f"original bytes per token must be positive, got {original_bytes_per_token}.")
    if pruned_bytes_per_token <= 0:
        raise ValueError(f"pruned bytes per token must be positive, got {pruned_bytes_per_token}.")
    removed_fraction = (original_bytes_per_token - pruned_bytes_per_token) / original_bytes_per_token
    return 1.0 / (1.0 - removed_fraction)
