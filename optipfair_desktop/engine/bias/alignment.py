"""Token alignment of a prompt pair, and the rows that each comparison mode compares.

Two prompts that differ in one attribute word often tokenize to different lengths ("white" is
one token, "Afro-Caribbean" several), so position i of prompt A is not position i of prompt B.
:func:`align_tokens` pairs the tokens that the two prompts share, in order, and groups each
differing stretch into one span. The comparison modes then build matching rows from the
activations of both prompts:

* ``aligned``: one row per aligned position. Shared tokens are compared one to one, a differing
  span of equal length token by token, and a differing span of unequal length as the mean of
  its tokens on each side. Tokens present in one prompt only are listed as unmatched.
* ``pooled``: one row, the mean over all tokens of each prompt.
* ``last_token``: one row, the last token of each prompt (the one that predicts the next word).

When both prompts have the same number of tokens, ``aligned`` compares position i with
position i, as the reference library optipfair does.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass, field

import numpy as np

logger = logging.getLogger(__name__)

COMPARISON_MODES = ("aligned", "pooled", "last_token")


def check_mode(mode: str) -> str:
    if mode not in COMPARISON_MODES:
        raise ValueError(f"Unknown comparison mode {mode!r}; use one of {', '.join(COMPARISON_MODES)}.")
    return mode


@dataclass(frozen=True)
class AlignedPosition:
    """Token indices of prompt A and prompt B that one aligned row compares."""

    a: tuple[int, ...]
    b: tuple[int, ...]
    differs: bool
    label: str


@dataclass
class TokenAlignment:
    """Both tokenizations of a prompt pair, the differing tokens marked, and the aligned positions."""

    ids_a: list[int]
    ids_b: list[int]
    tokens_a: list[str]  # readable text of each token, e.g. " man"
    tokens_b: list[str]
    diff_mask_a: np.ndarray  # bool [len(tokens_a)]: True where the token is not shared with B
    diff_mask_b: np.ndarray
    positions: list[AlignedPosition]
    unmatched_a: list[int] = field(default_factory=list)  # token indices of A with no counterpart in B
    unmatched_b: list[int] = field(default_factory=list)

    @property
    def same_length(self) -> bool:
        return len(self.ids_a) == len(self.ids_b)

    @property
    def has_differences(self) -> bool:
        return bool(self.diff_mask_a.any() or self.diff_mask_b.any())


def token_texts(tokenizer, ids: list[int]) -> list[str]:
    """Return the readable text of each token (byte-level pieces of one character may show as '\ufffd')."""
    return [tokenizer.decode([token_id]) for token_id in ids]


def tokenize_prompt(tokenizer, prompt: str) -> list[int]:
    """Return the token ids the model receives for ``prompt``, special tokens included."""
    return list(tokenizer(prompt)["input_ids"])


def _label(tokens_a: list[str], tokens_b: list[str], a: tuple[int, ...], b: tuple[int, ...]) -> str:
    text_a = "".join(tokens_a[i] for i in a).strip() or repr("".join(tokens_a[i] for i in a))
    text_b = "".join(tokens_b[i] for i in b).strip() or repr("".join(tokens_b[i] for i in b))
    return text_a if text_a == text_b else f"{text_a} | {text_b}"


def align_token_ids(ids_a: list[int], ids_b: list[int], tokens_a: list[str], tokens_b: list[str]) -> TokenAlignment:
    """Align two token id lists; see the module docstring for the rules."""
    if not ids_a or not ids_b:
        raise ValueError("A prompt of the pair tokenized to no tokens; write a non-empty prompt.")
    diff_mask_a = np.zeros(len(ids_a), dtype=bool)
    diff_mask_b = np.zeros(len(ids_b), dtype=bool)
    positions: list[AlignedPosition] = []
    unmatched_a: list[int] = []
    unmatched_b: list[int] = []

    def add(a: tuple[int, ...], b: tuple[int, ...], differs: bool) -> None:
        positions.append(AlignedPosition(a, b, differs, _label(tokens_a, tokens_b, a, b)))

    if len(ids_a) == len(ids_b):
        for i, (id_a, id_b) in enumerate(zip(ids_a, ids_b)):
            differs = id_a != id_b
            diff_mask_a[i] = diff_mask_b[i] = differs
            add((i,), (i,), differs)
    else:
        matcher = difflib.SequenceMatcher(a=ids_a, b=ids_b, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                for offset in range(i2 - i1):
                    add((i1 + offset,), (j1 + offset,), False)
                continue
            diff_mask_a[i1:i2] = True
            diff_mask_b[j1:j2] = True
            if tag == "replace" and i2 - i1 == j2 - j1:
                for offset in range(i2 - i1):
                    add((i1 + offset,), (j1 + offset,), True)
            elif tag == "replace":
                add(tuple(range(i1, i2)), tuple(range(j1, j2)), True)
            else:
                # "insert" or "delete": tokens of one prompt with nothing to compare against.
                unmatched_a.extend(range(i1, i2))
                unmatched_b.extend(range(j1, j2))

    if unmatched_a or unmatched_b:
        logger.info(
            "Tokens without a counterpart are left out of the aligned comparison: A %s, B %s",
            [tokens_a[i] for i in unmatched_a], [tokens_b[j] for j in unmatched_b],
        )
    if not positions:
        raise ValueError("The two prompts share no tokens and no differing span can be aligned; check the pair.")
    return TokenAlignment(ids_a, ids_b, tokens_a, tokens_b, diff_mask_a, diff_mask_b, positions, unmatched_a, unmatched_b)


def align_tokens(tokenizer, prompt_a: str, prompt_b: str) -> TokenAlignment:
    """Tokenize both prompts and align them; see the module docstring."""
    ids_a = tokenize_prompt(tokenizer, prompt_a)
    ids_b = tokenize_prompt(tokenizer, prompt_b)
    return align_token_ids(ids_a, ids_b, token_texts(tokenizer, ids_a), token_texts(tokenizer, ids_b))


def row_labels(alignment: TokenAlignment, mode: str) -> list[str]:
    """Return one label per compared row of ``mode``."""
    check_mode(mode)
    if mode == "aligned":
        return [position.label for position in alignment.positions]
    if mode == "pooled":
        return ["mean of all tokens"]
    return [_label(alignment.tokens_a, alignment.tokens_b, (len(alignment.ids_a) - 1,), (len(alignment.ids_b) - 1,))]


def comparison_rows(
    activations_a: np.ndarray, activations_b: np.ndarray, alignment: TokenAlignment, mode: str
) -> tuple[np.ndarray, np.ndarray]:
    """Build the matching rows of both prompts for one block and component.

    activations_a: [len(tokens_a), dim], activations_b: [len(tokens_b), dim].
    Returns two arrays [rows, dim] whose row r is compared with row r.
    """
    check_mode(mode)
    if activations_a.shape[0] != len(alignment.ids_a) or activations_b.shape[0] != len(alignment.ids_b):
        raise ValueError(
            f"Activations have {activations_a.shape[0]} and {activations_b.shape[0]} tokens but the alignment "
            f"has {len(alignment.ids_a)} and {len(alignment.ids_b)}; capture and align the same prompts."
        )
    if mode == "pooled":
        return activations_a.mean(axis=0, keepdims=True), activations_b.mean(axis=0, keepdims=True)
    if mode == "last_token":
        return activations_a[-1:], activations_b[-1:]

    if all(len(p.a) == 1 and len(p.b) == 1 for p in alignment.positions):
        index_a = [p.a[0] for p in alignment.positions]
        index_b = [p.b[0] for p in alignment.positions]
        return activations_a[index_a], activations_b[index_b]
    rows_a = np.stack([activations_a[list(p.a)].mean(axis=0) for p in alignment.positions])
    rows_b = np.stack([activations_b[list(p.b)].mean(axis=0) for p in alignment.positions])
    return rows_a, rows_b
