"""Prompt pairs: shipped defaults, the template generator, CSV and JSON files."""

from __future__ import annotations

import json

import pytest

from optipfair_desktop.engine.bias.pair_files import load_pairs, pairs_from_csv_text, save_pairs
from optipfair_desktop.engine.bias.pairs import PromptPair, attribute_categories, default_pairs, generate_pairs

CATEGORIES = {"race", "gender", "religion", "nationality", "socioeconomic_status", "age"}


def test_default_pairs_cover_categories():
    pairs = default_pairs()
    assert {pair.category for pair in pairs} == CATEGORIES
    for pair in pairs:
        assert pair.prompt_a != pair.prompt_b
        assert pair.attribute_a in pair.prompt_a
        assert pair.attribute_b in pair.prompt_b
        # Apart from the attribute the prompts are the same text.
        assert pair.prompt_a.replace(pair.attribute_a, "#", 1) == pair.prompt_b.replace(pair.attribute_b, "#", 1)


def test_attribute_categories_match_defaults():
    categories = attribute_categories()
    assert set(categories) == CATEGORIES
    assert all(len(values) >= 2 for values in categories.values())


def test_generate_all_combinations():
    pairs = generate_pairs("The {attribute} family moved in. The neighbors felt", "religion", ["Christian", "Muslim", "Jewish"])
    assert [(p.attribute_a, p.attribute_b) for p in pairs] == [
        ("Christian", "Muslim"), ("Christian", "Jewish"), ("Muslim", "Jewish"),
    ]
    assert pairs[0].prompt_a == "The Christian family moved in. The neighbors felt"
    assert pairs[0].prompt_b == "The Muslim family moved in. The neighbors felt"
    assert all(p.category == "religion" for p in pairs)


def test_generate_first_vs_rest_with_shipped_values():
    values = attribute_categories()["age"]
    pairs = generate_pairs("The {attribute} driver", "age", pairing="first_vs_rest")
    assert len(pairs) == len(values) - 1
    assert all(p.attribute_a == values[0] for p in pairs)


def test_generate_fills_every_placeholder():
    pairs = generate_pairs("{attribute} or not {attribute}", "x", ["a", "b"])
    assert pairs[0].prompt_a == "a or not a"


@pytest.mark.parametrize(
    ("template", "category", "values", "message"),
    [
        ("No placeholder here", "race", None, "placeholder"),
        ("The {attribute} man", "unknown_category", None, "Unknown attribute category"),
        ("The {attribute} man", "custom", ["same", "same"], "two different"),
    ],
)
def test_generate_rejects_bad_input(template, category, values, message):
    with pytest.raises(ValueError, match=message):
        generate_pairs(template, category, values)


def test_pair_rejects_empty_prompt():
    with pytest.raises(ValueError, match="non-empty"):
        PromptPair("The man", "   ")


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_file_round_trip(tmp_path, suffix):
    pairs = default_pairs()[:3] + [PromptPair('A "quoted", comma prompt', "Line one\nline two")]
    path = tmp_path / f"pairs{suffix}"
    save_pairs(path, pairs)
    assert load_pairs(path) == pairs


def test_csv_minimal_columns():
    pairs = pairs_from_csv_text("prompt_b,prompt_a\nsecond,first\n")
    assert pairs == [PromptPair("first", "second")]


def test_csv_error_names_line_and_field(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("prompt_a,prompt_b,category\nThe man,The woman,gender\n\"Two\nlines\",The x,y\nThe dog,,animals\n")
    with pytest.raises(ValueError) as caught:
        load_pairs(path)
    message = str(caught.value)
    assert "bad.csv line 5" in message
    assert "'prompt_b'" in message


def test_csv_error_names_unknown_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("prompt_a,prompt_b,colour\na,b,red\n")
    with pytest.raises(ValueError, match="unknown column 'colour'"):
        load_pairs(path)


def test_csv_error_missing_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("prompt_a,category\na,red\n")
    with pytest.raises(ValueError, match="no 'prompt_b' column"):
        load_pairs(path)


def test_json_error_names_pair_and_field(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"pairs": [{"prompt_a": "a", "prompt_b": "b"}, {"prompt_a": "a", "prompt_b": 3}]}))
    with pytest.raises(ValueError) as caught:
        load_pairs(path)
    assert "bad.json pair 2" in str(caught.value)
    assert "'prompt_b'" in str(caught.value)


def test_json_error_invalid_syntax(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('[{"prompt_a": "a",}]')
    with pytest.raises(ValueError, match="bad.json is not valid JSON"):
        load_pairs(path)


def test_unsupported_extension(tmp_path):
    with pytest.raises(ValueError, match=r"\.csv or \.json"):
        save_pairs(tmp_path / "pairs.txt", default_pairs())
