"""Speed-ups against the baseline, with the bound and a warning when noise hides the gain."""

from __future__ import annotations

from optipfair_desktop.engine.bench.bound import decode_speedup_bound
from optipfair_desktop.engine.bench.results import Comparison, ModelResult
from optipfair_desktop.engine.bench.stats import Summary, paired_ratios


def describe_comparison(speedup: float, bound: float, spread: float, repeats: int) -> tuple[bool, str]:
    """Return (within_noise, note) for a decode speed-up measured against a baseline."""
    gain = speedup - 1.0
    if repeats < 2:
        return True, (
            f"decode x{speedup:.2f} from a single repeat: the spread is unknown, so no gain can be "
            "claimed; use 3 or more repeats."
        )
    if abs(gain) <= spread:
        return True, (
            f"decode x{speedup:.2f} is within the baseline's spread (IQR {spread:.1%} of its median): "
            "no measured gain."
        )
    slower = ", slower than the baseline" if speedup < 1.0 else ""
    note = f"decode x{speedup:.2f} measured{slower}; the removed weight bytes allow at most x{bound:.2f}."
    if speedup > bound * (1.0 + spread):
        note += " The measurement exceeds the bound, which counts only weight bytes (CPU caches can do this)."
    return False, note


def compare_to_baseline(baseline: ModelResult, candidate: ModelResult) -> Comparison:
    """Compare ``candidate`` with ``baseline`` over runs paired by repeat number."""
    prefill = Summary.of(paired_ratios(candidate.prefill_tokens_per_s.values, baseline.prefill_tokens_per_s.values))
    decode = Summary.of(paired_ratios(candidate.decode_tokens_per_s.values, baseline.decode_tokens_per_s.values))
    bound = decode_speedup_bound(baseline.bytes_per_token, candidate.bytes_per_token)
    spread = baseline.decode_tokens_per_s.relative_spread
    within_noise, note = describe_comparison(decode.median, bound, spread, len(decode.values))
    return Comparison(
        label=candidate.label,
        baseline=baseline.label,
        prefill_speedup=prefill,
        decode_speedup=decode,
        decode_bound=bound,
        baseline_decode_spread=spread,
        within_noise=within_noise,
        note=note,
    )
