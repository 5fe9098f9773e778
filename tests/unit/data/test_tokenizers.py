import itertools
import json

import pytest

from attnkit.data.tokenizers import (
    BOS,
    EOS,
    KINDS,
    PAD,
    SPECIALS,
    UNK,
    _spans_from_pieces,
    load_tokenizer,
    train_tokenizer,
)
from attnkit.errors import CheckpointError, ConfigError, DataError

TEXTS = [
    "the cat sat on the mat",
    "a dog ran across the yard",
    "el gato se sentó en la alfombra",
    "the quick brown fox jumps over the lazy dog",
    "3 de marzo de 1998",
    "Tuesday, March 3, 1998",
] * 4


@pytest.fixture(scope="module")
def tokenizers():
    return {kind: train_tokenizer(kind, TEXTS, vocab_size=200) for kind in KINDS} | {
        "unigram": train_tokenizer("sentencepiece", TEXTS, vocab_size=60, model_type="unigram")}


@pytest.mark.parametrize("kind", [*KINDS, "unigram"])
def test_round_trip_and_lengths(tokenizers, kind):
    tok = tokenizers[kind]
    assert tok.kind == ("sentencepiece" if kind == "unigram" else kind)
    for text in TEXTS[:6]:
        ids = tok.encode(text)
        assert all(4 <= i < tok.vocab_size for i in ids)  # no specials, no BOS/EOS added
        assert tok.decode(ids) == text
        assert tok.decode([BOS, *ids, EOS, 7, PAD]) == text
        assert len(tok.pieces(text)) == len(ids) == len(tok.spans(text))


@pytest.mark.parametrize("kind", KINDS)
def test_spans_are_ordered_and_in_range(tokenizers, kind):
    text = "  the cat   sat on the mat "
    spans = tokenizers[kind].spans(text)
    assert all(0 <= a <= b <= len(text) for a, b in spans)
    assert all(b1 <= a2 for (_, b1), (a2, _) in itertools.pairwise(spans))


@pytest.mark.parametrize("kind", ["char", "word"])
def test_spans_slice_back_to_the_tokens(tokenizers, kind):
    tok = tokenizers[kind]
    text = "the  cat sat\ton the mat"
    tokens = list(text) if kind == "char" else text.split()
    assert [text[a:b] for a, b in tok.spans(text)] == tokens


def test_char_keeps_spaces_and_shows_them():
    tok = train_tokenizer("char", ["ab a"])
    assert tok.vocab_size == len(SPECIALS) + 3
    assert tok.decode(tok.encode("a b")) == "a b"
    assert tok.pieces("a b") == ["a", "\u2581", "b"]


def test_word_decode_joins_with_spaces():
    tok = train_tokenizer("word", ["hello   world", "hello there"])
    assert tok.decode(tok.encode(" hello  world ")) == "hello world"


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_characters_become_unk(tokenizers, kind):
    ids = tokenizers[kind].encode("the \u4e2d cat")
    assert UNK in ids


def test_min_freq_and_vocab_size_cap():
    texts = ["a a a b b c"]
    assert train_tokenizer("word", texts, min_freq=2).encode("a b c") == [4, 5, UNK]
    assert train_tokenizer("word", texts, vocab_size=5).encode("a b c") == [4, UNK, UNK]


@pytest.mark.parametrize("kind", [*KINDS, "unigram"])
def test_save_load_equality(tokenizers, tmp_path, kind):
    tok = tokenizers[kind]
    tok.save(tmp_path, "src")
    loaded = load_tokenizer(tmp_path, "src")
    assert type(loaded) is type(tok) and loaded.vocab_size == tok.vocab_size
    for text in [*TEXTS[:6], "unseen \u4e2d words"]:
        assert loaded.encode(text) == tok.encode(text)
        assert loaded.pieces(text) == tok.pieces(text)
    record = json.loads((tmp_path / "src.tokenizer.json").read_text(encoding="utf-8"))
    assert record["kind"] == tok.kind


def test_train_into_directory(tmp_path):
    train_tokenizer("sentencepiece", TEXTS, vocab_size=60, directory=tmp_path, name="tgt")
    assert (tmp_path / "tgt.spm.model").is_file()
    assert load_tokenizer(tmp_path, "tgt").kind == "sentencepiece"


def test_spm_uses_the_shared_special_ids(tokenizers):
    tok = tokenizers["sentencepiece"]
    assert [tok._sp.id_to_piece(i) for i in (PAD, BOS, EOS, UNK)] == list(SPECIALS)


def test_spans_fallback_matches_pieces(tokenizers):
    text = "  the cat"
    assert _spans_from_pieces(text, ["\u2581the", "\u2581c", "at"]) == [(2, 5), (5, 7), (7, 9)]
    tok = tokenizers["sentencepiece"]
    for text in TEXTS[:6]:  # agrees with sentencepiece's own offsets on ordinary text
        assert _spans_from_pieces(text, tok.pieces(text)) == tok.spans(text)
    # normalisation changed the surface: spans stay in range and in order
    spans = _spans_from_pieces("\ufb01sh", ["\u2581fi", "sh"])
    assert spans[-1][1] <= 3 and spans[0][0] <= spans[1][0]


def test_unknown_kind_names_valid_kinds():
    with pytest.raises(ConfigError, match="char, word, sentencepiece"):
        train_tokenizer("bytes", TEXTS)
    with pytest.raises(ConfigError, match="bpe, unigram"):
        train_tokenizer("sentencepiece", TEXTS, model_type="wordpiece")


def test_load_errors_name_the_file(tokenizers, tmp_path):
    with pytest.raises(CheckpointError, match=r"missing\.tokenizer\.json.*not found"):
        load_tokenizer(tmp_path, "missing")
    (tmp_path / "bad.tokenizer.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"bad\.tokenizer\.json.*not a valid"):
        load_tokenizer(tmp_path, "bad")
    (tmp_path / "odd.tokenizer.json").write_text('{"kind": "morse"}', encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"odd\.tokenizer\.json.*valid kinds"):
        load_tokenizer(tmp_path, "odd")
    (tmp_path / "novocab.tokenizer.json").write_text('{"kind": "word", "vocab": ["a"]}', encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"novocab\.tokenizer\.json"):
        load_tokenizer(tmp_path, "novocab")
    tokenizers["sentencepiece"].save(tmp_path, "sp")
    (tmp_path / "sp.spm.model").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match=r"sp\.spm\.model"):
        load_tokenizer(tmp_path, "sp")
    (tmp_path / "sp.spm.model").unlink()
    with pytest.raises(CheckpointError, match=r"sp\.spm\.model.*not found"):
        load_tokenizer(tmp_path, "sp")


def test_spm_training_failure_is_a_data_error():
    with pytest.raises(DataError, match="vocab_size \\(10\\)"):
        train_tokenizer("sentencepiece", ["abcdefghijklmnopqrstuvwxyz"], vocab_size=10)
