"""Texts for perplexity and speed prompts: the shipped calibration text or a user's file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from optipfair_desktop.engine.calibration import read_documents

DOCUMENT_JOIN = "\n\n"


@dataclass(frozen=True)
class PerplexityText:
    """A text to measure perplexity on: its name in results and its content."""

    name: str
    text: str


def perplexity_text(path: str | Path | None = None) -> PerplexityText:
    """Read a .txt or .jsonl file (``None``: the shipped calibration text) as one text.

    Documents (paragraphs of a .txt, lines of a .jsonl) are joined with a blank line.
    """
    name, documents = read_documents(path)
    return PerplexityText(name, DOCUMENT_JOIN.join(documents))


def calibration_text() -> str:
    """Return the shipped calibration text."""
    return perplexity_text(None).text
