import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attnkit.data.documents import Document
from attnkit.data.matching import TextPair
from attnkit.evaluation.baselines import best_threshold, fit_tfidf_logreg, tfidf_cosine_match, tfidf_logreg

TOPICS = {
    "pets": ["cat", "dog", "puppy", "kitten", "leash", "fur"],
    "code": ["compiler", "python", "bug", "debugger", "kernel", "library"],
    "food": ["bread", "cheese", "soup", "oven", "recipe", "salt"],
}


def _docs(n_per_class: int, offset: int = 0) -> list[Document]:
    docs = []
    for label, vocab in TOPICS.items():
        for i in range(n_per_class):
            picked = [vocab[(i + offset + k) % len(vocab)] for k in range(3)]
            docs.append(Document(f"The {picked[0]} and the {picked[1]}. A {picked[2]} again.", label, f"{label}{i}"))
    return docs


def test_tfidf_logreg_learns_separable_topics():
    train, test = _docs(8), _docs(3, offset=4)
    pred = tfidf_logreg(train, test)
    assert pred == [d.label for d in test]
    pipeline = fit_tfidf_logreg(train, C=1.0)
    assert set(pipeline.classes_) == set(TOPICS)
    assert "the" in pipeline.named_steps["tfidf"].vocabulary_  # min_df=2 keeps shared words
    with pytest.raises(ValueError, match="two labels"):
        fit_tfidf_logreg([Document("a b", "x"), Document("b c", "x")])


def _brute_force_accuracy(scores, labels):
    candidates = [min(scores) - 1, *scores, max(scores) + 1]
    return max(np.mean([(s >= t) == bool(y) for s, y in zip(scores, labels, strict=True)]) for t in candidates)


@given(st.lists(st.tuples(st.integers(0, 6).map(lambda x: x / 6), st.integers(0, 1)), min_size=1, max_size=30))
def test_best_threshold_is_as_accurate_as_any_threshold(items):
    scores, labels = [s for s, _ in items], [y for _, y in items]
    t = best_threshold(scores, labels)
    accuracy = np.mean([(s >= t) == bool(y) for s, y in zip(scores, labels, strict=True)])
    assert accuracy == pytest.approx(_brute_force_accuracy(scores, labels))


def test_best_threshold_examples():
    assert best_threshold([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == pytest.approx(0.5)
    assert best_threshold([0.1, 0.9], [1, 1]) < 0.1
    assert best_threshold([0.1, 0.9], [0, 0]) > 0.9
    with pytest.raises(ValueError):
        best_threshold([0.1], [])


def test_tfidf_cosine_match():
    base = [("the cat sat on the mat", "a cat sat on a mat"), ("bread and soup", "soup with bread"),
            ("the kernel has a bug", "a bug in the kernel"), ("rain in spain", "spain gets rain")]
    train = [TextPair(a, b, 1) for a, b in base]
    train += [TextPair(a, base[(i + 1) % 4][1], 0) for i, (a, _) in enumerate(base)]
    test = [TextPair("cat on the mat", "the mat and a cat", 1), TextPair("cat on the mat", "soup and bread", 0)]
    assert tfidf_cosine_match(train, test) == [1, 0]
    assert tfidf_cosine_match(train, []) == []
    with pytest.raises(ValueError, match="training pairs"):
        tfidf_cosine_match([], test)
