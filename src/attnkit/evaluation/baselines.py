"""Bag-of-words baselines for document classification and text matching (scikit-learn).

- :func:`tfidf_logreg`: TF-IDF of word uni- and bigrams (sublinear term frequency, words seen in at
  least two training documents) fed to a multinomial logistic regression, the standard strong linear
  baseline that Yang et al. (2016) compare hierarchical attention against.
- :func:`tfidf_cosine_match`: cosine similarity of the TF-IDF vectors of the two texts, thresholded at
  the value that is most accurate on the training pairs. It only sees shared words, so across languages
  (Spanish-English) it is close to chance: a floor, not a competitor.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from attnkit.data.documents import Document
from attnkit.data.matching import TextPair

__all__ = ["best_threshold", "fit_tfidf_logreg", "tfidf_cosine_match", "tfidf_logreg"]


def _vectorizer(**kwargs: object) -> TfidfVectorizer:
    # word tokens of letters and digits of any script, so Spanish accents stay inside words
    return TfidfVectorizer(lowercase=True, token_pattern=r"(?u)\b\w+\b", sublinear_tf=True, dtype=np.float32,
                           **kwargs)


def fit_tfidf_logreg(train: Sequence[Document], *, C: float = 10.0, max_iter: int = 1000) -> Pipeline:
    """A fitted ``TfidfVectorizer -> LogisticRegression`` pipeline (``predict`` gives label names)."""
    if len({d.label for d in train}) < 2:
        raise ValueError("tfidf_logreg needs training documents of at least two labels")
    pipeline = Pipeline([
        ("tfidf", _vectorizer(ngram_range=(1, 2), min_df=2)),
        # saga: on sparse TF-IDF with dozens of classes it reaches the same optimum several times faster than lbfgs
        ("logreg", LogisticRegression(C=C, max_iter=max_iter, solver="saga")),
    ])
    return pipeline.fit([d.text for d in train], [d.label for d in train])


def tfidf_logreg(train: Sequence[Document], test: Sequence[Document], *, C: float = 10.0,
                 max_iter: int = 1000) -> list[str]:
    """Predicted labels of ``test`` by the pipeline of :func:`fit_tfidf_logreg` trained on ``train``."""
    pipeline = fit_tfidf_logreg(train, C=C, max_iter=max_iter)
    return [str(label) for label in pipeline.predict([d.text for d in test])]


def best_threshold(scores: Sequence[float], labels: Sequence[int]) -> float:
    """The threshold ``t`` maximising the accuracy of ``score >= t`` -> 1 (midway between neighbouring
    scores; ties broken towards the lower threshold)."""
    if len(scores) != len(labels) or not len(scores):
        raise ValueError(f"need as many labels as scores, at least one: got {len(scores)} and {len(labels)}")
    order = np.argsort(np.asarray(scores, dtype=np.float64), kind="stable")
    s = np.asarray(scores, dtype=np.float64)[order]
    y = np.asarray(labels, dtype=np.int64)[order]
    # threshold below position i: items i.. predicted 1. correct = negatives before i + positives from i
    neg_before = np.concatenate([[0], np.cumsum(y == 0)])
    pos_from = np.concatenate([[0], np.cumsum(y == 1)])
    correct = neg_before + (pos_from[-1] - pos_from)
    valid = np.concatenate([[True], s[1:] > s[:-1], [True]])  # a threshold cannot split equal scores
    best = int(np.argmax(np.where(valid, correct, -1)))
    if best == 0:
        return float(s[0]) - 1.0
    if best == len(s):
        return float(s[-1]) + 1.0
    return float((s[best - 1] + s[best]) / 2)


def _cosines(vectorizer: TfidfVectorizer, pairs: Sequence[TextPair]) -> np.ndarray:
    a = vectorizer.transform([p.a for p in pairs])  # rows are L2-normalised
    b = vectorizer.transform([p.b for p in pairs])
    return np.asarray(a.multiply(b).sum(axis=1)).ravel()


def tfidf_cosine_match(train: Sequence[TextPair], test: Sequence[TextPair]) -> list[int]:
    """Predicted match labels of ``test``: TF-IDF (word unigrams, fitted on both texts of every training
    pair) cosine of ``a`` and ``b``, 1 when at least the threshold most accurate on ``train``."""
    if not train:
        raise ValueError("tfidf_cosine_match needs training pairs to fit the vocabulary and the threshold")
    vectorizer = _vectorizer().fit([text for p in train for text in (p.a, p.b)])
    threshold = best_threshold(_cosines(vectorizer, train), [p.label for p in train])
    if not test:
        return []
    return [int(c >= threshold) for c in _cosines(vectorizer, test)]
