"""Word vectors trained on the training split itself, to initialise a model's word embedding table.

Yang et al. (2016, "Hierarchical Attention Networks for Document Classification", section 3.3) obtain
HAN's initial word embeddings ``W_e`` by training word2vec on the corpus itself, then fine-tune them
with the rest of the model. :func:`train_word2vec` does that with gensim's skip-gram (Mikolov et al.
2013, "Distributed Representations of Words and Phrases and their Compositionality": negative
sampling, subsampling of frequent words). The paper trains on the training and validation splits;
attnkit uses the training split only, so that dev (early stopping, model selection) and test stay
unseen text.

The sentences are split and tokenised exactly as :meth:`DocumentVocab.build` counts them
(:func:`sentences_of`: :func:`split_sentences`, then lower-cased :func:`words`), so every vector lands
on its word's id.

gensim is an optional dependency (``pip install 'attnkit[word2vec]'``), imported only when vectors are
trained.
"""
# V vocabulary ids (specials and hash buckets included), E embedding dim

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from attnkit.data.documents import DOC_SPECIALS, DocumentVocab, split_sentences, words
from attnkit.errors import ConfigError, DataError

__all__ = ["PIP_HINT", "WordVectors", "sentences_of", "train_word2vec"]

log = logging.getLogger("attnkit")
PIP_HINT = "pip install gensim  (or: pip install 'attnkit[word2vec]')"


@dataclass(frozen=True)
class WordVectors:
    """Vectors for the ids of one :class:`DocumentVocab`.

    ``vectors [V, E]`` float32, a zero row wherever ``filled [V]`` (bool) is False: the specials
    (``<pad>``, ``<unk>``), the hash buckets, and any vocabulary word word2vec never saw."""

    vectors: Tensor
    filled: Tensor
    seconds: float  # wall time of word2vec (vocabulary scan and training)

    @property
    def num_filled(self) -> int:
        return int(self.filled.sum())


def sentences_of(texts: Iterable[str]) -> list[list[str]]:
    """The lower-cased words of every sentence of ``texts``, as :meth:`DocumentVocab.build` counts them
    (sentences without a word left out)."""
    return [ws for text in texts for sentence in split_sentences(text) if (ws := words(sentence))]


def _word2vec_class():
    try:
        from gensim.models import Word2Vec
    except ImportError as err:
        raise ConfigError(f"model.word_vectors=word2vec needs the Python package gensim: {PIP_HINT}; or set "
                          "model.word_vectors=none") from err
    return Word2Vec


def train_word2vec(sentences: Sequence[Sequence[str]], vocab: DocumentVocab, *, dim: int, window: int = 5,
                   epochs: int = 5, seed: int = 0, rms: float | None = None) -> WordVectors:
    """Skip-gram word2vec on ``sentences`` (the *training* split's, from :func:`sentences_of`), its
    vectors placed on the ids of ``vocab``.

    Every word of the sentences takes part (``min_count=1``), in the vocabulary or not, so rare words
    still serve as context; only vocabulary words are looked up afterwards, and each of them gets a
    vector when the vocabulary was built from these same texts. ``window`` is the largest distance between a
    word and a context word, ``epochs`` the passes over the sentences.

    ``rms``: when given, all filled rows are scaled by one common factor so that their root mean square
    entry is ``rms``. Cosines and the ratios of the vectors' norms are unchanged; the models pass their
    random init's ``E^-1/2``, so that words with a vector and words without one start on one scale (word2vec's
    own scale depends on corpus size and epochs).

    Deterministic for a given ``seed``: gensim is run with one worker thread, the only setting in which
    its training is reproducible. The time this takes is logged and returned: it is spent before the
    training loop starts, so ``train.time_limit_minutes`` and the ``train_minutes`` a run reports do not
    include it; comparisons at an equal training budget must add it to the run's time.

    Shapes:
        sentences: S sentences of words -> vectors ``[V, E]`` (``E = dim``), filled ``[V]``
    """
    if dim < 1 or window < 1 or epochs < 1:
        raise ValueError(f"dim, window and epochs must be positive, got dim={dim}, window={window}, epochs={epochs}")
    if not any(sentences):
        raise DataError("the training texts have no words to train word vectors on; set model.word_vectors=none")
    word2vec = _word2vec_class()
    started = time.perf_counter()
    # sg=1: skip-gram; seed & 0xFFFFFFFF: numpy's RandomState inside gensim takes 32-bit seeds
    model = word2vec(sentences=[list(s) for s in sentences], vector_size=dim, window=window, epochs=epochs, sg=1,
                     min_count=1, workers=1, seed=seed & 0xFFFFFFFF)
    seconds = time.perf_counter() - started
    vectors = np.zeros((vocab.vocab_size, dim), dtype=np.float32)
    filled = np.zeros(vocab.vocab_size, dtype=bool)
    first = len(DOC_SPECIALS)  # <pad> and <unk> keep their rows; the hash buckets follow itos
    for i, word in enumerate(vocab.itos[first:], first):
        j = model.wv.key_to_index.get(word)
        if j is not None:
            vectors[i], filled[i] = model.wv.vectors[j], True
    if rms is not None and filled.any():
        vectors[filled] *= rms / max(float(np.sqrt(np.mean(vectors[filled] ** 2))), 1e-12)
    out = WordVectors(torch.from_numpy(vectors), torch.from_numpy(filled), seconds)
    log.info("word vectors: word2vec skip-gram (E=%d, window %d, %d epochs) on %d training sentences, %d words: "
             "%d of %d vocabulary words got a vector in %.1f s (not counted in train_minutes)", dim, window,
             epochs, len(sentences), sum(map(len, sentences)), out.num_filled, len(vocab.itos) - first, seconds)
    return out
