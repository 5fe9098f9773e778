import json
from collections import Counter
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from attnkit.data import documents
from attnkit.data.documents import (
    LEXNAMES,
    PAD_ID,
    UNK_ID,
    DocBatch,
    Document,
    DocumentVocab,
    FlatBatch,
    LabelSet,
    load_debian_packages,
    load_documents,
    load_fortunes,
    load_wordnet,
    make_doc_batch,
    make_flat_batch,
    read_labelled,
    read_texts,
    split_documents,
    split_of,
    split_sentences,
    strip_attribution,
    unwrap_lines,
    words,
)
from attnkit.errors import CheckpointError, DataError


def _write(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


# ----------------------------------------------------------------------------- sentences and words


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("", []),
        ("  \n\n ", []),
        ("One here. Two there! Three? 4 is a number.", ["One here.", "Two there!", "Three?", "4 is a number."]),
        ("He said \"Stop.\" Then he left.", ["He said \"Stop.\"", "Then he left."]),
        ("It ended. \"Why?\" she asked.", ["It ended.", "\"Why?\" she asked."]),
        ("Tools, e.g. Make, etc. Are fine.", ["Tools, e.g. Make, etc. Are fine."]),
        ("Ask Dr. Who and Mr. Smith vs. Jones.", ["Ask Dr. Who and Mr. Smith vs. Jones."]),
        ("Written by J. R. R. Tolkien. Read it.", ["Written by J. R. R. Tolkien.", "Read it."]),
        ("Made in the U.S. Army files.", ["Made in the U.S. Army files."]),
        ("first; Second part. lower case after stop. Next", ["first; Second part. lower case after stop.", "Next"]),
        ("Wait... what? No... Really.", ["Wait... what?", "No...", "Really."]),
        ("version 2.5 is out. (Not 3.) ok", ["version 2.5 is out.", "(Not 3.) ok"]),
        ("a definition\nan example without a stop\n\nNew paragraph", ["a definition", "an example without a stop",
                                                                      "New paragraph"]),
    ],
)
def test_split_sentences(text, sentences):
    assert split_sentences(text) == sentences


@given(st.text(alphabet=st.sampled_from(list("ab .!?\n\"AZ;9")), max_size=60))
def test_split_sentences_keeps_every_character_and_never_returns_blanks(text):
    sentences = split_sentences(text)
    assert all(s and s == s.strip() for s in sentences)
    assert "".join("".join(s.split()) for s in sentences) == "".join(text.split())


def test_words():
    assert words("Don't PANIC: 42 towels, rock’n’roll!") == ["don't", "panic", ":", "42", "towels", ",",
                                                                "rock’n’roll", "!"]
    assert words("Crió Dios ¿verdad? snake_case") == ["crió", "dios", "¿", "verdad", "?", "snake", "_", "case"]
    assert words("  ") == []


def test_unwrap_lines_joins_prose_and_keeps_lists_and_verbatim():
    lines = ["A library for parsing", "things quickly.", "* first item that", "  wraps here", "- second",
             "back to prose", "", "  verbatim line", "  another verbatim", "1. numbered"]
    assert unwrap_lines(lines).split("\n") == ["A library for parsing things quickly.", "* first item that wraps here",
                                               "- second", "back to prose", "verbatim line", "another verbatim",
                                               "1. numbered"]
    verse = ["Roses are red,", "violets are blue."]
    assert unwrap_lines(verse, min_length=50) == "Roses are red,\nviolets are blue."
    assert unwrap_lines(verse) == "Roses are red, violets are blue."
    assert unwrap_lines(["\t\"Hello,\" said the man who was standing in the long queue", "at noon."],
                        min_length=50) == "\"Hello,\" said the man who was standing in the long queue at noon."


def test_strip_attribution():
    body = ["A quip that", "goes on."]
    assert strip_attribution([*body, "\t\t-- Mark Twain"]) == body
    assert strip_attribution([*body, "\t\t-- Mark Twain, \"The", "\t\tDisappearance\"", ""]) == body
    assert strip_attribution([*body, "— Anon."]) == body
    assert strip_attribution([*body, "\t-- by A", "", "\tThe end is indented", "\tand has no author"]) == [
        *body, "\t-- by A", "", "\tThe end is indented", "\tand has no author"]
    assert strip_attribution(["\tonly an indented line"]) == ["\tonly an indented line"]
    assert strip_attribution(["-- just an author"]) == []


# ----------------------------------------------------------------------------- vocabulary and labels


TEXTS = ["The cat sat. The cat ran!", "A dog sat.\nThe dog barked", "Cats and dogs. The end."]


def test_vocab_build_orders_by_frequency_and_respects_limits():
    vocab = DocumentVocab.build(TEXTS, min_freq=2)
    assert vocab.itos[:2] == ["<pad>", "<unk>"]
    assert vocab.itos[2:] == [".", "the", "cat", "dog", "sat"]  # ties alphabetical
    counts = Counter(w for t in TEXTS for s in split_sentences(t) for w in words(s))
    assert all(counts[w] >= 2 for w in vocab.itos[2:])
    assert sorted(vocab.itos[2:]) == sorted(w for w, c in counts.items() if c >= 2)
    assert [counts[w] for w in vocab.itos[2:]] == sorted((counts[w] for w in vocab.itos[2:]), reverse=True)
    small = DocumentVocab.build([Document(t, "x") for t in TEXTS], min_freq=1, max_size=5)
    assert small.vocab_size == 5 and small.itos[2:] == vocab.itos[2:5]


def test_encode_tokens_and_flat_agree():
    vocab = DocumentVocab.build(TEXTS, min_freq=1)
    text = "The Cat sat on a mat. Dogs barked!\n\nFin"
    ids = vocab.encode(text)
    toks = vocab.tokens(text)
    assert toks == [["The", "Cat", "sat", "on", "a", "mat", "."], ["Dogs", "barked", "!"], ["Fin"]]
    assert [len(s) for s in ids] == [len(s) for s in toks]
    assert ids[0][:3] == [vocab.stoi["the"], vocab.stoi["cat"], vocab.stoi["sat"]]
    assert ids[0][3] == UNK_ID and ids[2] == [UNK_ID]  # "on" and "fin" are unknown
    assert vocab.encode_flat(text) == [i for s in ids for i in s]
    assert vocab.encode(text, max_sentences=2, max_words=2) == [ids[0][:2], ids[1][:2]]
    assert vocab.tokens(text, 2, 2) == [["The", "Cat"], ["Dogs", "barked"]]
    assert vocab.encode_flat(text, max_words=4) == ids[0][:4]
    assert vocab.decode(ids[0] + [PAD_ID]) == ["the", "cat", "sat", "<unk>", "a", "<unk>", "."]


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_a_document_without_words_is_one_unknown_word(text):
    vocab = DocumentVocab.build(TEXTS)
    assert vocab.encode(text) == [[UNK_ID]] and vocab.encode_flat(text) == [UNK_ID]
    assert vocab.tokens(text) == [["<unk>"]]


def test_vocab_and_labels_round_trip(tmp_path):
    vocab = DocumentVocab.build(TEXTS, min_freq=1)
    vocab.save(tmp_path / "vocab.json")
    again = DocumentVocab.load(tmp_path / "vocab.json")
    assert again.itos == vocab.itos and again.encode(TEXTS[1]) == vocab.encode(TEXTS[1])
    labels = LabelSet.build(["b", "a", "c", "a"])
    assert labels.names == ("a", "b", "c") and labels.index("c") == 2 and len(labels) == 3 and "b" in labels
    labels.save(tmp_path / "labels.json")
    assert LabelSet.load(tmp_path / "labels.json").names == labels.names
    with pytest.raises(DataError, match="unknown label 'z'"):
        labels.index("z")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not a readable vocabulary file"),
        ('{"format": "something", "version": 1}', "not an attnkit vocabulary file"),
        ('{"format": "attnkit.DocumentVocab", "version": 99, "itos": []}', "version 99"),
        ('{"format": "attnkit.DocumentVocab", "version": 1, "itos": ["a", "a"]}', "corrupt"),
        ('{"format": "attnkit.DocumentVocab", "version": 1, "itos": ["a", "b"]}', "must start with"),
        ('{"format": "attnkit.LabelSet", "version": 1, "labels": ["x"]}', "not an attnkit vocabulary file"),
    ],
)
def test_foreign_or_corrupt_vocab_names_the_file(tmp_path, content, message):
    path = _write(tmp_path / "vocab.json", content)
    with pytest.raises(CheckpointError, match=message) as err:
        DocumentVocab.load(path)
    assert str(path) in str(err.value)


def test_missing_or_foreign_label_file(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        LabelSet.load(tmp_path / "labels.json")
    DocumentVocab.build(TEXTS).save(tmp_path / "vocab.json")
    with pytest.raises(CheckpointError, match="not an attnkit label file"):
        LabelSet.load(tmp_path / "vocab.json")


# ----------------------------------------------------------------------------- reading files


def test_read_csv_tsv_jsonl(tmp_path):
    content = '\ufefftext,label,extra\n"Hello, world.\nSecond line",greet,1\n\nBye now ,  part ,2\n'
    docs = read_labelled(_write(tmp_path / "d.csv", content))
    assert docs == [Document("Hello, world.\nSecond line", "greet", "d.csv:2"),
                    Document("Bye now", "part", "d.csv:5")]  # line numbers count the quoted line break
    tsv = _write(tmp_path / "d.tsv", 'body\tclass\nsays "hi"\tgreet\n')
    assert read_labelled(tsv, text_field="body", label_field="class") == [Document('says "hi"', "greet", "d.tsv:2")]
    jsonl = _write(tmp_path / "d.jsonl", '{"text": "one", "label": "a"}\n\n{"text": "two", "label": 3}\n')
    assert read_labelled(jsonl) == [Document("one", "a", "d.jsonl:1"), Document("two", "3", "d.jsonl:3")]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("d.csv", "body,label\nx,y\n", r"d\.csv, line 1: no column 'text' \(found 'body', 'label'\)"),
        ("d.csv", "text,label\nx,y\n  ,y\n", r"d\.csv, line 3: empty text"),
        ("d.csv", "text,label\nx,y\nz,\n", r"d\.csv, line 3: empty label"),
        ("d.csv", "text,label\nx,y,z\n", r"d\.csv, line 2: 3 fields but the header has 2"),
        ("d.csv", "", r"d\.csv: the file is empty"),
        ("d.csv", "text,label\n", r"d\.csv: no examples"),
        ("d.tsv", "text\tlabel\nok\tfine\nbad\n", r"d\.tsv, line 3: 1 fields"),
        ("d.jsonl", '{"text": "a", "label": "b"}\n{"text": "a"', r"d\.jsonl, line 2: invalid JSON"),
        ("d.jsonl", '{"text": "a", "lab": "b"}\n', r"d\.jsonl, line 1: no key 'label' \(found 'text', 'lab'\)"),
        ("d.jsonl", '["text", "label"]\n', r"d\.jsonl, line 1: expected a JSON object"),
        ("d.jsonl", '{"text": ["a"], "label": "b"}\n', r"d\.jsonl, line 1: 'text' must be a string"),
        ("d.txt", "text,label\n", r"unknown file type '\.txt'"),
    ],
)
def test_read_labelled_errors_name_file_and_line(tmp_path, name, content, message):
    with pytest.raises(DataError, match=message):
        read_labelled(_write(tmp_path / name, content))


def test_read_texts(tmp_path):
    jsonl = _write(tmp_path / "in.jsonl", '{"text": "First doc.\\nSecond line."}\n{"text": " two ", "id": 3}\n')
    assert read_texts(jsonl) == ["First doc.\nSecond line.", "two"]
    with pytest.raises(DataError, match=r"in\.jsonl, line 1: empty text"):
        read_texts(_write(tmp_path / "in.jsonl", '{"text": ""}\n'))


def test_invalid_utf8_and_missing_file(tmp_path):
    path = _write(tmp_path / "d.csv", b"text,label\nok,a\ncaf\xe9,b\n")
    with pytest.raises(DataError, match=r"d\.csv, line 3: not valid UTF-8"):
        read_labelled(path)
    with pytest.raises(DataError, match="not found"):
        read_labelled(tmp_path / "nope.csv")


# ----------------------------------------------------------------------------- built-in corpora (fixtures)

PACKAGES = """\
Package: alpha
Source: alpha-src (1.0)
Section: utils
Description: tool that does alpha things
Description-md5: aaa

Package: alpha-doc
Source: alpha-src
Section: doc
Description: documentation for alpha tool here
Description-md5: bbb

Package: alpha
Section: games
Description: a later duplicate stanza of alpha
Description-md5: aaa

Package: beta
Section: non-free/utils
Description: beta utility with an inline description
 Beta does beta work for everyone.
 .
 It is fast.

Package: gamma
Section: contrib/utils
Description: gamma
Description-md5: zzz

Package: copy
Section: utils
Description: beta utility with an inline description
 Beta does beta work for everyone.
 .
 It is fast.
"""
TRANSLATIONS = """\
Package: alpha
Description-md5: aaa
Description-en: tool that does alpha things
 Alpha is a program that is wrapped
 over two lines.
 .
 Features:
  * one
  * two

Package: alpha-doc
Description-md5: bbb
Description-en: documentation for alpha tool here
 This package contains the manual.
"""


def test_debian_packages_from_files(tmp_path):
    packages, translations = _write(tmp_path / "Packages", PACKAGES), _write(tmp_path / "Translation-en", TRANSLATIONS)
    docs = load_debian_packages(packages, translations=translations, min_count=1)
    assert [(d.id, d.label, d.group) for d in docs] == [
        ("alpha", "utils", "alpha-src"), ("alpha-doc", "doc", "alpha-src"), ("beta", "utils", "beta")]
    assert docs[0].text == ("tool that does alpha things\n\nAlpha is a program that is wrapped over two lines.\n\n"
                            "Features:\n* one\n* two")
    assert split_sentences(docs[0].text) == ["tool that does alpha things", "Alpha is a program that is wrapped over "
                                             "two lines.", "Features:", "* one", "* two"]
    assert docs[2].text == "beta utility with an inline description\n\nBeta does beta work for everyone.\n\nIt is fast."
    # "gamma" has one word and no long description; "copy" repeats beta's text
    assert [d.label for d in load_debian_packages(packages, translations=translations, min_count=2)] == ["utils"] * 2
    assert load_debian_packages(packages, min_count=1)[0].text == "tool that does alpha things"
    with pytest.raises(DataError, match=r"Packages\.gz: Packages file not found"):
        load_debian_packages(tmp_path / "Packages.gz")


def test_debian_without_long_descriptions_says_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setattr(documents, "_APT_LISTS", tmp_path)  # no Translation-en lists
    monkeypatch.setattr(documents, "_run", lambda command, hint: PACKAGES)
    with pytest.raises(DataError, match=r"apt-get update -o Acquire::Languages=en.*install_corpora\.sh"):
        load_debian_packages()


WORDNET_NOUN = """\
  1 This software and database is being provided to you, the LICENSEE, by
  2 Princeton University under the following license.
00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 | that which is perceived or known or inferred to exist
02084071 05 n 01 dog 0 001 @ 02083346 n 0000 | a domesticated canid; "the dog barked all night; it was loud"; "dogs run"
09999999 05 n 01 hound 0 000 | a domesticated canid; "the dog barked all night; it was loud"; "dogs run"
"""
WORDNET_VERB = """\
  1 licence
01835496 38 v 01 travel 0 000 02 + 01 00 + 02 00 | change location; move; "How fast does your new car go?"  \n\
"""


def _wordnet(tmp_path: Path) -> Path:
    _write(tmp_path / "data.noun", WORDNET_NOUN)
    _write(tmp_path / "data.verb", WORDNET_VERB)
    _write(tmp_path / "data.adj", "  1 licence\n")
    _write(tmp_path / "data.adv", "")
    return tmp_path


def test_wordnet_glosses(tmp_path):
    docs = load_wordnet(_wordnet(tmp_path))
    assert [(d.id, d.label) for d in docs] == [("n:00001740", "noun.Tops"), ("n:02084071", "noun.animal"),
                                               ("v:01835496", "verb.motion")]  # the repeated gloss is dropped
    assert docs[1].text == "a domesticated canid\nthe dog barked all night; it was loud\ndogs run"
    assert split_sentences(docs[2].text) == ["change location", "move", "How fast does your new car go?"]
    assert "dog" not in docs[1].text.split("\n")[0]  # the synset's own words are not in the text
    assert len(LEXNAMES) == 45 and LEXNAMES[0] == "adj.all" and LEXNAMES[44] == "adj.ppl"


def test_wordnet_missing_and_malformed(tmp_path):
    with pytest.raises(DataError, match="apt-get install -y wordnet-base"):
        load_wordnet(tmp_path)
    _wordnet(tmp_path)
    _write(tmp_path / "data.verb", "garbage line\n")
    with pytest.raises(DataError, match=r"data\.verb, line 1: not a WordNet synset line"):
        load_wordnet(tmp_path)


FORTUNES_LOVE = """\
Love is patient, love is kind and it does not keep a record of wrongs at
all, they say.
\t\t-- Anonymous
%
Roses are red,
Violets are blue.
%
%
Love is patient, love is kind and it does not keep a record of wrongs at
all, they say.
\t\t-- Someone Else
%
_\bb_\bo_\bl_\bd and b\bbr\bra\bav\bve\be.
%"""


def test_fortunes(tmp_path):
    _write(tmp_path / "love", FORTUNES_LOVE)
    _write(tmp_path / "love.dat", b"\x00\x01binary")
    (tmp_path / "love.u8").symlink_to(tmp_path / "love")
    _write(tmp_path / "tiny", "Just one.\n")
    (tmp_path / "off").mkdir()
    docs = load_fortunes(tmp_path, min_count=2)
    assert [(d.id, d.label) for d in docs] == [("love:0", "love"), ("love:1", "love"), ("love:4", "love")]
    assert docs[0].text == "Love is patient, love is kind and it does not keep a record of wrongs at all, they say."
    assert docs[1].text == "Roses are red,\nViolets are blue."
    assert docs[2].text == "bold and brave."
    assert {d.label for d in load_fortunes(tmp_path, min_count=1)} == {"love", "tiny"}
    with pytest.raises(DataError, match="apt-get install -y fortunes fortunes-min"):
        load_fortunes(tmp_path / "off")


# ----------------------------------------------------------------------------- splits and the cache


def test_split_is_a_stable_hash_of_group_or_id():
    assert split_of("n:02084071") == split_of("n:02084071")
    docs = [Document(f"text {i}", "x", id=f"d{i}", group=f"g{i // 5}") for i in range(2000)]
    parts = split_documents(docs)
    assert sum(map(len, parts.values())) == 2000
    share = {name: len(p) / 2000 for name, p in parts.items()}
    assert 0.06 < share["test"] < 0.14 and 0.06 < share["dev"] < 0.14
    for name, part in parts.items():
        assert all(split_of(d.group) == name for d in part)
        assert part == [d for d in docs if d in part]  # order kept
    groups = {name: {d.group for d in part} for name, part in parts.items()}
    assert not (groups["train"] & groups["test"]) and not (groups["dev"] & groups["test"])
    assert split_documents(reversed(docs))["test"] == parts["test"][::-1]
    # a document's split does not depend on its neighbours
    assert split_documents(docs[:100])["test"] == [d for d in parts["test"] if int(d.id[1:]) < 100]
    with pytest.raises(ValueError, match="dev"):
        split_documents(docs, dev=0.6, test=0.5)


def test_load_documents_parses_once(tmp_path, monkeypatch):
    calls = []

    def fake(root):
        calls.append(root)
        return [Document(f"text {i}", "abc"[i % 3], id=str(i)) for i in range(300)]

    monkeypatch.setitem(documents._LOADERS, "fortunes", fake)
    documents._split_corpus.cache_clear()
    try:
        parts = {s: load_documents("fortunes", s, root=tmp_path) for s in ("train", "dev", "test", "all")}
        assert len(calls) == 1
        assert sorted(d.id for s in ("train", "dev", "test") for d in parts[s]) == sorted(d.id for d in parts["all"])
        with pytest.raises(DataError, match="unknown corpus 'imdb'"):
            load_documents("imdb", "train")
        with pytest.raises(ValueError, match="split"):
            load_documents("fortunes", "validation", root=tmp_path)
    finally:
        documents._split_corpus.cache_clear()


# ----------------------------------------------------------------------------- batching


def test_make_doc_batch_pads_words_and_sentences():
    docs = [[[5, 6, 7], [8]], [[9]]]
    batch = make_doc_batch(docs, [1, 0], [10, 3])
    assert isinstance(batch, DocBatch) and batch.tokens.shape == (2, 2, 3) and batch.tokens.dtype == torch.long
    assert batch.tokens.tolist() == [[[5, 6, 7], [8, 0, 0]], [[9, 0, 0], [0, 0, 0]]]
    assert torch.equal(batch.mask, batch.tokens != PAD_ID)
    assert batch.sentence_mask.tolist() == [[True, True], [True, False]]
    assert batch.labels.tolist() == [1, 0] and batch.index == [10, 3]
    moved = batch.to("cpu")
    assert isinstance(moved, DocBatch) and torch.equal(moved.tokens, batch.tokens)
    with pytest.raises(ValueError, match="empty"):
        make_doc_batch([[[1], []]], [0], [0])
    with pytest.raises(ValueError, match="must match"):
        make_doc_batch(docs, [0], [0, 1])


def test_make_flat_batch():
    batch = make_flat_batch([[4, 5, 6], [7]], [2, 1], [0, 1])
    assert isinstance(batch, FlatBatch) and batch.tokens.tolist() == [[4, 5, 6], [7, 0, 0]]
    assert batch.mask.tolist() == [[True, True, True], [True, False, False]]
    assert batch.to("cpu").labels.tolist() == [2, 1]
    with pytest.raises(ValueError, match="at least one"):
        make_flat_batch([], [], [])


def test_vocab_file_is_plain_json(tmp_path):
    DocumentVocab.build(TEXTS).save(tmp_path / "v.json")
    data = json.loads((tmp_path / "v.json").read_text())
    assert data["format"] == "attnkit.DocumentVocab" and data["version"] == 1


def test_oov_buckets_hash_unseen_words_consistently(tmp_path):
    vocab = DocumentVocab.build(["the cat sat. the cat ran."], min_freq=1, oov_buckets=50)
    assert vocab.vocab_size == len(vocab.itos) + 50
    ids = vocab.encode_flat("The Rephah cat and Resheph and Rephah")
    rephah, resheph = ids[1], ids[4]
    assert ids[6] == rephah and rephah >= len(vocab.itos) and resheph >= len(vocab.itos) and rephah != resheph
    assert vocab.encode_flat("cat")[0] == vocab.stoi["cat"]
    vocab.save(tmp_path / "v.json")
    again = DocumentVocab.load(tmp_path / "v.json")
    assert again.oov_buckets == 50 and again.encode_flat("Rephah") == [rephah]
    assert vocab.decode([rephah]) == ["<unk>"]
    assert DocumentVocab.build(["the cat"], min_freq=1).encode_flat("Rephah") == [1]  # no buckets: <unk>
