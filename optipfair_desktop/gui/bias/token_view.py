"""Both tokenizations of a prompt pair, with the differing tokens marked and the compared rows listed."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QTextBrowser, QWidget

from optipfair_desktop.engine.bias.alignment import TokenAlignment, row_labels

SHARED_STYLE = "background:#e8e8e8;color:#202020"
DIFFERING_STYLE = "background:#ffb347;color:#000000;font-weight:bold"
UNMATCHED_STYLE = "background:#ff6b6b;color:#000000;text-decoration:line-through"


def _token_html(text: str, style: str) -> str:
    # Show the leading space that byte-level BPE tokens carry, so " man" and "man" look different.
    shown = text.replace(" ", "·").replace("\n", "⏎") or "∅"
    return f'<span style="{style};padding:1px 3px;margin:1px;border-radius:3px">{html.escape(shown)}</span>'


def alignment_html(alignment: TokenAlignment, mode: str) -> str:
    """Return the HTML of both token rows, a legend and the rows that ``mode`` compares."""
    lines = []
    for name, tokens, mask, unmatched in (
        ("A", alignment.tokens_a, alignment.diff_mask_a, set(alignment.unmatched_a)),
        ("B", alignment.tokens_b, alignment.diff_mask_b, set(alignment.unmatched_b)),
    ):
        spans = []
        for index, text in enumerate(tokens):
            if index in unmatched:
                style = UNMATCHED_STYLE
            elif mask[index]:
                style = DIFFERING_STYLE
            else:
                style = SHARED_STYLE
            spans.append(_token_html(text, style))
        lines.append(f"<p><b>Prompt {name}</b> ({len(tokens)} tokens)<br>{' '.join(spans)}</p>")

    legend = (f"<p>{_token_html('shared', SHARED_STYLE)} {_token_html('differs', DIFFERING_STYLE)} "
              f"{_token_html('no counterpart', UNMATCHED_STYLE)}</p>")
    labels = row_labels(alignment, mode)
    if mode == "aligned":
        note = ("same token count: position i is compared with position i" if alignment.same_length else
                "different token counts: shared tokens are matched in order, a differing span is compared as "
                "the mean of its tokens")
        if alignment.unmatched_a or alignment.unmatched_b:
            note += "; tokens with no counterpart are not compared"
    elif mode == "pooled":
        note = "the mean over all tokens of A is compared with that of B"
    else:
        note = "the last token of A is compared with the last token of B"
    compared = ", ".join(html.escape(label) for label in labels)
    summary = f"<p><b>Comparison mode: {mode}</b> — {note}.<br>Compared rows ({len(labels)}): {compared}</p>"
    return "".join(lines) + legend + summary


class TokenView(QTextBrowser):
    """Read-only view of a pair's alignment."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.alignment: TokenAlignment | None = None
        self.mode = "aligned"
        self.show_message("Select a pair to see how the model tokenizes it.")

    def show_message(self, text: str) -> None:
        self.alignment = None
        self.setHtml(f"<p><i>{html.escape(text)}</i></p>")

    def set_alignment(self, alignment: TokenAlignment, mode: str) -> None:
        self.alignment = alignment
        self.mode = mode
        self.setHtml(alignment_html(alignment, mode))
