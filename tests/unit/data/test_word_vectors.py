"""word2vec on the training text: vectors on the vocabulary's ids, co-occurrence shows in the cosines,
one seed gives one set of vectors (in this process and in another)."""

import importlib.util
import json
import os
import random
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from attnkit.data.documents import PAD_ID, UNK_ID, DocumentVocab
from attnkit.data.word_vectors import sentences_of, train_word2vec
from attnkit.errors import ConfigError, DataError

needs_gensim = pytest.mark.skipif(importlib.util.find_spec("gensim") is None,
                                  reason="gensim is not installed (pip install 'attnkit[word2vec]')")

SPORT = "ball goal team kick score match".split()
FOOD = "bread soup salt cook bake meal".split()


def _texts(n: int = 400) -> list[str]:
    """Documents of one topic each: a topic's words co-occur, the two topics' never do. (Fewer would be too few:
    word2vec's subsampling drops most tokens of a vocabulary this small.)"""
    rng = random.Random(0)
    return [" ".join(rng.choices(SPORT if i % 2 else FOOD, k=8)).capitalize() + "." for i in range(n)]


def _train(texts, vocab, **kw):
    kw = {"dim": 16, "window": 3, "epochs": 20, "seed": 3, **kw}
    return train_word2vec(sentences_of(texts), vocab, **kw)


@pytest.fixture(scope="module")
def corpus():
    texts = _texts()
    vocab = DocumentVocab.build(texts, min_freq=1, oov_buckets=4)
    return texts, vocab, _train(texts, vocab)


@needs_gensim
def test_words_that_co_occur_are_closer(corpus):
    _, vocab, found = corpus
    ids = {w: vocab.stoi[w] for w in SPORT + FOOD}
    unit = F.normalize(found.vectors, dim=-1)
    cos = unit @ unit.T  # [V, V]
    within = [cos[ids[a], ids[b]] for group in (SPORT, FOOD) for a in group for b in group if a != b]
    across = [cos[ids[a], ids[b]] for a in SPORT for b in FOOD]
    assert torch.stack(within).mean() > torch.stack(across).mean() + 0.3
    for word in SPORT + FOOD:  # and every word's nearest neighbour is of its own topic
        others = [w for w in SPORT + FOOD if w != word]
        nearest = max(others, key=lambda w: float(cos[ids[word], ids[w]]))
        assert (nearest in SPORT) == (word in SPORT), (word, nearest)


@needs_gensim
def test_vectors_sit_on_the_vocabulary_ids(corpus):
    _, vocab, found = corpus
    assert found.vectors.shape == (vocab.vocab_size, 16) and found.vectors.dtype == torch.float32
    words = set(vocab.itos[2:])
    assert found.num_filled == len(words) == len(SPORT + FOOD) + 1  # the words and "."
    assert not found.filled[[PAD_ID, UNK_ID]].any()
    assert not found.filled[len(vocab.itos):].any()  # hash buckets are no words
    assert (found.vectors[~found.filled] == 0).all() and (found.vectors[found.filled].norm(dim=-1) > 0).all()


def test_sentences_are_the_vocabularys_words():
    texts = ["The Ball went IN. Don't stop!", "Soup, bread\nand salt."]
    vocab = DocumentVocab.build(texts, min_freq=1)
    sentences = sentences_of(texts)
    assert sentences == [["the", "ball", "went", "in", "."], ["don't", "stop", "!"], ["soup", ",", "bread"],
                         ["and", "salt", "."]]
    assert {w for s in sentences for w in s} == set(vocab.itos[2:])


@needs_gensim
def test_rms_rescales_without_changing_cosines(corpus):
    texts, vocab, raw = corpus
    scaled = _train(texts, vocab, rms=0.25)
    rows = scaled.vectors[scaled.filled]
    torch.testing.assert_close(rows.pow(2).mean().sqrt(), torch.tensor(0.25))
    torch.testing.assert_close(F.normalize(rows, dim=-1), F.normalize(raw.vectors[raw.filled], dim=-1),
                               atol=1e-5, rtol=0)


@needs_gensim
def test_same_seed_same_vectors_other_seed_others(corpus):
    texts, vocab, found = corpus
    assert torch.equal(_train(texts, vocab).vectors, found.vectors)
    assert not torch.allclose(_train(texts, vocab, seed=4).vectors, found.vectors)


@needs_gensim
def test_same_vectors_in_a_process_with_another_hash_seed(corpus):
    """Python's string hashing differs between processes; the vectors must not."""
    texts, _, found = corpus
    script = ("import json, sys; from attnkit.data.documents import DocumentVocab; "
              "from attnkit.data.word_vectors import sentences_of, train_word2vec; texts = json.load(sys.stdin); "
              "v = DocumentVocab.build(texts, min_freq=1, oov_buckets=4); "
              "print(json.dumps(train_word2vec(sentences_of(texts), v, dim=16, window=3, epochs=20, seed=3)"
              ".vectors.tolist()))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", script], input=json.dumps(texts), capture_output=True, text=True,
                         env=env, check=True, timeout=120)
    assert torch.equal(torch.tensor(json.loads(out.stdout)), found.vectors)


def test_no_words_is_a_data_error():
    with pytest.raises(DataError, match="no words"):
        train_word2vec([[]], DocumentVocab.build(["a b"], min_freq=1), dim=4)


def test_without_gensim_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gensim.models", None)  # import gensim.models -> ImportError
    with pytest.raises(ConfigError, match=r"needs the Python package gensim: pip install gensim.*word_vectors=none"):
        train_word2vec([["a", "b"]], DocumentVocab.build(["a b"], min_freq=1), dim=4)
