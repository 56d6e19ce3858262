"""Calibration text: read it, tokenize it, and cut it into fixed-length windows.

A calibration text is a ``.txt`` file (documents separated by blank lines) or a ``.jsonl`` file
(one JSON object per line with a ``"text"`` field). The documents are tokenized, joined into one
token stream with a blank line between them, and cut into consecutive windows of
``window_length`` tokens. The windows used for statistics are spread evenly over the whole text,
and held-out windows for perplexity are taken from between them, so the two sets never share a
window.

Only the last window of a text can be shorter than ``window_length``. It is right-padded, and its
padding is 0 in ``attention_mask`` so that no statistic in this package counts it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch

from optipfair_desktop.engine.resources import resource_path

logger = logging.getLogger(__name__)

DEFAULT_CALIBRATION_RESOURCE = "calibration/brown_sample.txt"
DEFAULT_WINDOW_LENGTH = 128
DEFAULT_NUM_WINDOWS = 32
DEFAULT_HELDOUT_WINDOWS = 16
DOCUMENT_SEPARATOR = "\n\n"
# Larger files are read only up to this many characters. 20 M characters are millions of tokens,
# far more than the windows of any setting in the app need.
MAX_TEXT_CHARS = 20_000_000


@dataclass(frozen=True)
class CalibrationWindows:
    """Token windows of one calibration text, ready to feed a model batch by batch."""

    input_ids: torch.Tensor  # [n, L] int64
    attention_mask: torch.Tensor  # [n, L] int64, 1 = real token, 0 = padding
    source_name: str
    content_hash: str  # depends on the token ids and the mask only

    @classmethod
    def from_tensors(
        cls, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, source_name: str = "tensors"
    ) -> "CalibrationWindows":
        """Wrap ready-made token windows; a missing mask means every token is real."""
        input_ids = torch.as_tensor(input_ids, dtype=torch.long)
        if input_ids.dim() != 2 or input_ids.shape[0] == 0 or input_ids.shape[1] == 0:
            raise ValueError(f"input_ids must have shape [windows, length] with both > 0, got {tuple(input_ids.shape)}")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        attention_mask = torch.as_tensor(attention_mask, dtype=torch.long)
        if attention_mask.shape != input_ids.shape:
            raise ValueError(
                f"attention_mask shape {tuple(attention_mask.shape)} differs from input_ids shape "
                f"{tuple(input_ids.shape)}; give one mask value per token"
            )
        return cls(input_ids.contiguous(), attention_mask.contiguous(), source_name, _hash_windows(input_ids, attention_mask))

    @property
    def num_windows(self) -> int:
        return int(self.input_ids.shape[0])

    @property
    def window_length(self) -> int:
        return int(self.input_ids.shape[1])

    @property
    def num_real_tokens(self) -> int:
        return int(self.attention_mask.sum())

    def batches(self, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield ``(input_ids, attention_mask)`` slices of at most ``batch_size`` windows."""
        if batch_size < 1:
            raise ValueError(f"batch size must be at least 1, got {batch_size}")
        for start in range(0, self.num_windows, batch_size):
            yield self.input_ids[start:start + batch_size], self.attention_mask[start:start + batch_size]

    def num_batches(self, batch_size: int) -> int:
        return -(-self.num_windows // batch_size)


def _hash_windows(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> str:
    digest = hashlib.sha256()
    digest.update(str(tuple(input_ids.shape)).encode())
    digest.update(input_ids.to(torch.int64).numpy().tobytes())
    digest.update(attention_mask.to(torch.int64).numpy().tobytes())
    return digest.hexdigest()[:20]


def default_calibration_path() -> Path:
    return resource_path(DEFAULT_CALIBRATION_RESOURCE)


def read_documents(path: str | Path | None = None) -> tuple[str, list[str]]:
    """Read a calibration file and return ``(source_name, documents)``; None reads the shipped text."""
    path = default_calibration_path() if path is None else Path(path).expanduser()
    if not path.is_file():
        raise ValueError(f"calibration file not found: {path}; pick an existing .txt or .jsonl file")
    suffix = path.suffix.lower()
    if suffix not in (".txt", ".jsonl"):
        raise ValueError(
            f"calibration file {path.name} has the unsupported type {suffix or '(none)'}; "
            "use plain text (.txt) or JSON lines with a \"text\" field (.jsonl)"
        )

    with path.open(encoding="utf-8", errors="replace") as stream:
        text = stream.read(MAX_TEXT_CHARS + 1)
    if len(text) > MAX_TEXT_CHARS:
        logger.warning("Calibration file %s is larger than %d characters; only its start is used", path, MAX_TEXT_CHARS)
        text = text[:MAX_TEXT_CHARS]

    documents = _jsonl_documents(text, path) if suffix == ".jsonl" else _text_documents(text)
    if not documents:
        raise ValueError(f"calibration file {path} contains no text; pick a file with some English prose")
    return path.name, documents


def _text_documents(text: str) -> list[str]:
    paragraphs = [paragraph.strip() for paragraph in text.replace("\r\n", "\n").split("\n\n")]
    return [paragraph for paragraph in paragraphs if paragraph]


def _jsonl_documents(text: str, path: Path) -> list[str]:
    documents = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path.name} line {line_number} is not valid JSON ({error.msg}); fix or remove that line") from error
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise ValueError(f"{path.name} line {line_number} has no string \"text\" field; each line needs {{\"text\": \"...\"}}")
        if record["text"].strip():
            documents.append(record["text"].strip())
    return documents


def pad_token_id(tokenizer) -> int:
    """Return the id written into padding positions: pad, else end-of-sequence, else 0.

    The id never matters for a statistic because padding is masked out.
    """
    for candidate in (getattr(tokenizer, "pad_token_id", None), getattr(tokenizer, "eos_token_id", None)):
        if isinstance(candidate, (list, tuple)):
            candidate = candidate[0] if candidate else None
        if candidate is not None:
            return int(candidate)
    return 0


def _start_tokens(tokenizer) -> list[int]:
    """Return the special tokens the tokenizer puts before a text (a BOS token for Llama or Gemma)."""
    with_special = list(tokenizer("a", add_special_tokens=True)["input_ids"])
    plain = list(tokenizer("a", add_special_tokens=False)["input_ids"])
    for start in range(len(with_special) - len(plain) + 1):
        if with_special[start:start + len(plain)] == plain:
            return with_special[:start]
    return []


def tokenize_documents(documents: list[str], tokenizer) -> list[int]:
    """Tokenize documents one by one and join them with the tokens of a blank line."""
    separator = list(tokenizer(DOCUMENT_SEPARATOR, add_special_tokens=False)["input_ids"])
    encoded = tokenizer(documents, add_special_tokens=False)["input_ids"]
    stream: list[int] = []
    for index, ids in enumerate(encoded):
        if index:
            stream.extend(separator)
        stream.extend(ids)
    return stream


def _split_positions(num_chunks: int, num_windows: int, num_heldout: int) -> tuple[list[int], list[int]]:
    """Spread the calibration windows evenly over the chunks, then the held-out ones over the rest.

    The calibration positions do not depend on ``num_heldout``, so asking for held-out windows
    does not change the calibration windows (as long as the text is long enough for both).
    """
    calibration = [index * num_chunks // num_windows for index in range(num_windows)]
    taken = set(calibration)
    remaining = [position for position in range(num_chunks) if position not in taken]
    heldout = [remaining[index * len(remaining) // num_heldout] for index in range(num_heldout)]
    return calibration, heldout


def _shrink_counts(num_chunks: int, num_windows: int, num_heldout: int) -> tuple[int, int]:
    if num_chunks >= num_windows + num_heldout:
        return num_windows, num_heldout
    heldout = num_chunks * num_heldout // (num_windows + num_heldout)
    if num_heldout and heldout == 0:
        heldout = 1
    windows = num_chunks - heldout
    if windows < 1:
        raise ValueError(
            f"the calibration text gives only {num_chunks} window(s) of this length, too few for "
            f"{num_heldout} held-out window(s) and at least one calibration window; use a longer text "
            "or a shorter window length"
        )
    logger.warning(
        "The calibration text gives %d window(s); using %d calibration and %d held-out window(s) "
        "instead of %d and %d", num_chunks, windows, heldout, num_windows, num_heldout,
    )
    return windows, heldout


def windows_from_tokens(
    tokens: list[int],
    *,
    window_length: int = DEFAULT_WINDOW_LENGTH,
    num_windows: int = DEFAULT_NUM_WINDOWS,
    num_heldout: int = 0,
    start_tokens: list[int] | None = None,
    pad_id: int = 0,
    source_name: str = "tokens",
) -> tuple[CalibrationWindows, CalibrationWindows | None]:
    """Cut a token stream into calibration windows and, when ``num_heldout > 0``, held-out windows.

    Each window starts with ``start_tokens`` (the tokenizer's BOS, if it adds one) followed by
    consecutive tokens of the stream.
    """
    start_tokens = list(start_tokens or [])
    if num_windows < 1:
        raise ValueError(f"number of calibration windows must be at least 1, got {num_windows}")
    if num_heldout < 0:
        raise ValueError(f"number of held-out windows must be 0 or more, got {num_heldout}")
    if window_length < len(start_tokens) + 2:
        raise ValueError(f"window length must be at least {len(start_tokens) + 2} tokens, got {window_length}")
    if not tokens:
        raise ValueError("the calibration text produced no tokens; pick a file with some English prose")

    body = window_length - len(start_tokens)
    chunks = [tokens[start:start + body] for start in range(0, len(tokens), body)]
    # A short last chunk would need padding; drop it when the full chunks are enough for the
    # calibration windows. The rule ignores num_heldout so that the calibration windows stay the same.
    if len(chunks[-1]) < body and len(chunks) - 1 >= num_windows:
        chunks.pop()

    num_windows, num_heldout = _shrink_counts(len(chunks), num_windows, num_heldout)
    calibration_positions, heldout_positions = _split_positions(len(chunks), num_windows, num_heldout)

    def build(positions: list[int], name: str) -> CalibrationWindows:
        input_ids = torch.full((len(positions), window_length), pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(positions), window_length), dtype=torch.long)
        for row, position in enumerate(positions):
            window = start_tokens + chunks[position]
            input_ids[row, :len(window)] = torch.tensor(window, dtype=torch.long)
            attention_mask[row, :len(window)] = 1
        return CalibrationWindows.from_tensors(input_ids, attention_mask, name)

    calibration = build(calibration_positions, source_name)
    heldout = build(heldout_positions, f"{source_name} (held out)") if num_heldout else None
    return calibration, heldout


def load_calibration_split(
    tokenizer,
    path: str | Path | None = None,
    *,
    window_length: int = DEFAULT_WINDOW_LENGTH,
    num_windows: int = DEFAULT_NUM_WINDOWS,
    num_heldout: int = DEFAULT_HELDOUT_WINDOWS,
) -> tuple[CalibrationWindows, CalibrationWindows | None]:
    """Read a calibration file (None: the shipped Brown Corpus sample) into calibration and held-out windows."""
    source_name, documents = read_documents(path)
    tokens = tokenize_documents(documents, tokenizer)
    calibration, heldout = windows_from_tokens(
        tokens,
        window_length=window_length,
        num_windows=num_windows,
        num_heldout=num_heldout,
        start_tokens=_start_tokens(tokenizer),
        pad_id=pad_token_id(tokenizer),
        source_name=source_name,
    )
    logger.info(
        "Calibration text %s: %d tokens, %d calibration and %d held-out windows of %d tokens",
        source_name, len(tokens), calibration.num_windows, heldout.num_windows if heldout else 0, window_length,
    )
    return calibration, heldout


def load_calibration_windows(
    tokenizer,
    path: str | Path | None = None,
    *,
    window_length: int = DEFAULT_WINDOW_LENGTH,
    num_windows: int = DEFAULT_NUM_WINDOWS,
) -> CalibrationWindows:
    """Read a calibration file (None: the shipped Brown Corpus sample) into calibration windows."""
    calibration, _ = load_calibration_split(
        tokenizer, path, window_length=window_length, num_windows=num_windows, num_heldout=0
    )
    return calibration
