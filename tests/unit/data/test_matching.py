from collections import Counter
from pathlib import Path

import pytest
import torch

from attnkit.data.bible import CACHE_HEADER, CACHE_NAME
from attnkit.data.matching import (
    PairBatch,
    TextPair,
    load_bible_matching,
    make_pair_batch,
    parse_match_label,
    read_text_pairs,
)
from attnkit.errors import DataError


def _verse_rows() -> list[tuple[str, ...]]:
    """Three chapters: Gen.1 (6 verses, verse 3 and 4 identical in WEB), Gen.2 (a single verse),
    Exod.1 (3 verses); splits assigned by hand."""
    rows = []
    splits = {"Gen.1.2": "test", "Gen.1.5": "dev", "Exod.1.1": "test"}
    for book, chapter, n in (("Gen", 1, 6), ("Gen", 2, 1), ("Exod", 1, 3)):
        for v in range(1, n + 1):
            vid = f"{book}.{chapter}.{v}"
            web = "The same refrain." if vid in ("Gen.1.3", "Gen.1.4") else f"web {vid}"
            rows.append((vid, splits.get(vid, "train"), f"kjv {vid}", web, f"rv {vid}"))
    return rows


@pytest.fixture
def fake_bible(tmp_path: Path) -> Path:
    lines = ["\t".join(CACHE_HEADER), *("\t".join(row) for row in _verse_rows())]
    (tmp_path / CACHE_NAME).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


def test_paraphrase_pairs_are_balanced_hard_and_deterministic(fake_bible):
    pairs = load_bible_matching("paraphrase", "all", seed=3, cache_dir=fake_bible)
    assert all(isinstance(p, TextPair) for p in pairs)
    assert Counter(p.label for p in pairs) == {1: 9, 0: 9}  # Gen.2.1 has no neighbour and is left out
    assert not any(p.id.startswith("Gen.2.1") for p in pairs)
    for pos, neg in zip(pairs[::2], pairs[1::2], strict=True):
        verse = pos.id.removesuffix(":pos")
        assert pos.label == 1 and pos.a == f"kjv {verse}" and pos.id == f"{verse}:pos"
        assert neg.label == 0 and neg.a == pos.a and neg.b != pos.b
        other = neg.id.split(":neg:")[1]
        assert neg.id.startswith(f"{verse}:neg:") and other.rsplit(".", 1)[0] == verse.rsplit(".", 1)[0]
    assert load_bible_matching("paraphrase", "all", seed=3, cache_dir=fake_bible) == pairs


def test_negative_is_a_neighbour_with_different_text(fake_bible):
    negatives = {p.id for seed in range(16) for p in load_bible_matching("paraphrase", "all", seed=seed,
                                                                      cache_dir=fake_bible)
                 if p.label == 0 and p.id.startswith("Gen.1.3:")}
    # Gen.1.3's neighbours are 1.2 and 1.4, but 1.4 has the same WEB text: whichever side comes first, 1.2
    assert negatives == {"Gen.1.3:neg:Gen.1.2"}
    seeds = {load_bible_matching("paraphrase", "all", seed=s, cache_dir=fake_bible)[1].id for s in range(16)}
    assert seeds == {"Gen.1.1:neg:Gen.1.2"}  # the first verse has only a next neighbour
    middle = {next(p.id for p in load_bible_matching("paraphrase", "all", seed=s, cache_dir=fake_bible)
                   if p.id.startswith("Gen.1.2:neg")) for s in range(16)}
    assert middle == {"Gen.1.2:neg:Gen.1.1", "Gen.1.2:neg:Gen.1.3"}  # the seed picks the side


def test_translation_variant_and_splits(fake_bible):
    test = load_bible_matching("translation", "test", cache_dir=fake_bible)
    assert [p.id.split(":")[0] for p in test] == ["Gen.1.2", "Gen.1.2", "Exod.1.1", "Exod.1.1"]
    assert test[0] == TextPair("rv Gen.1.2", "kjv Gen.1.2", 1, "Gen.1.2:pos")
    assert test[3] == TextPair("rv Exod.1.1", "kjv Exod.1.2", 0, "Exod.1.1:neg:Exod.1.2")
    sizes = {s: len(load_bible_matching("translation", s, cache_dir=fake_bible)) for s in ("train", "dev", "test")}
    assert sizes == {"train": 12, "dev": 2, "test": 4}
    with pytest.raises(ValueError, match="variant"):
        load_bible_matching("entailment", "test", cache_dir=fake_bible)
    with pytest.raises(ValueError, match="split"):
        load_bible_matching("translation", "valid", cache_dir=fake_bible)


@pytest.mark.parametrize(("value", "label"), [("1", 1), ("TRUE", 1), ("match", 1), ("yes", 1), ("0", 0),
                                              ("False", 0), ("no", 0), ("mismatch", 0), ("maybe", None), ("2", None)])
def test_parse_match_label(value, label):
    assert parse_match_label(value) == label


def test_read_text_pairs(tmp_path):
    path = tmp_path / "p.tsv"
    path.write_text("text_a\ttext_b\tlabel\nhola\thello\tmatch\nadiós\tcat\t0\n", encoding="utf-8")
    assert read_text_pairs(path) == [TextPair("hola", "hello", 1, "p.tsv:2"), TextPair("adiós", "cat", 0, "p.tsv:3")]
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text('{"q": "a", "d": "b", "y": true}\n{"q": "c", "d": "d", "y": 0}\n', encoding="utf-8")
    assert [p.label for p in read_text_pairs(jsonl, a_field="q", b_field="d", label_field="y")] == [1, 0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("text_a,text_b,label\nx,y,maybe\n", r"p\.csv, line 2: label 'maybe' is not a match label"),
        ("text_a,text_b,label\nx,,1\n", r"p\.csv, line 2: empty text in 'text_b'"),
        ("text_a,label\nx,1\n", r"p\.csv, line 1: no column 'text_b'"),
    ],
)
def test_read_text_pairs_errors(tmp_path, content, message):
    path = tmp_path / "p.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_text_pairs(path)


def test_make_pair_batch_pads_each_side():
    batch = make_pair_batch([[3, 4], [5]], [[6], [7, 8, 9]], [1, 0], [4, 2])
    assert isinstance(batch, PairBatch)
    assert batch.tokens_a.tolist() == [[3, 4], [5, 0]] and batch.tokens_b.tolist() == [[6, 0, 0], [7, 8, 9]]
    assert torch.equal(batch.mask_a, batch.tokens_a != 0) and torch.equal(batch.mask_b, batch.tokens_b != 0)
    assert batch.labels.dtype == torch.long and batch.index == [4, 2]
    assert torch.equal(batch.to("cpu").tokens_b, batch.tokens_b)
    with pytest.raises(ValueError, match="pair up"):
        make_pair_batch([[1]], [[1], [2]], [0], [0])
    with pytest.raises(ValueError, match="at least one token"):
        make_pair_batch([[1], []], [[1], [2]], [0, 1], [0, 1])
