"""Text beside the charts: where and how a benchmark was measured, and what it shows."""

from __future__ import annotations

import html

from optipfair_desktop.engine.bench import BenchRecord

NOISE_COLOR = "#B35900"


def record_caption(record: BenchRecord) -> str:
    settings = record.settings
    machine = record.machine
    when = record.created.replace("T", " ")[:16]
    gpu = f", {machine.gpu}" if machine.gpu else ""
    return (
        f"{when} on {machine.cpu_model} ({machine.physical_cores} cores{gpu}), device {settings.device}, "
        f"dtype {settings.dtype}, torch {machine.torch}, transformers {machine.transformers}. "
        f"Prompt {settings.prompt_length} tokens, {settings.new_tokens} new tokens, batch 1, "
        f"{settings.warmups} warm-up(s), {settings.repeats} repeats interleaved; bars are medians, "
        f"error bars the IQR."
    )


def comparison_html(record: BenchRecord) -> str:
    """Format one paragraph per compared model: speed-ups, the bound, and the noise warning."""
    if not record.comparisons:
        return "Only one model was measured; check a second model to see speed-ups."
    parts = []
    for comparison in record.comparisons:
        decode = comparison.decode_speedup
        line = (
            f"<b>{html.escape(comparison.label)}</b> against {html.escape(comparison.baseline)}: "
            f"decode x{decode.median:.2f} (pair ratios IQR {decode.q1:.2f} to {decode.q3:.2f}), "
            f"prefill x{comparison.prefill_speedup.median:.2f}; "
            f"bound from removed weight bytes x{comparison.decode_bound:.2f}."
        )
        note = html.escape(comparison.note)
        if comparison.within_noise:
            note = f'<span style="color:{NOISE_COLOR}"><b>Noise:</b> {note}</span>'
        parts.append(f"{line}<br>{note}")
    return "<br>".join(parts)
