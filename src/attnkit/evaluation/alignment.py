"""Hard alignments from attention, their Pharaoh text form, and the alignment error rate.

A link is ``(src_index, tgt_index)``, 0-based, as in :class:`attnkit.data.examples.Pair` and in the Pharaoh
format ``i-j`` (source-target) of Moses and fast_align.

Alignment error rate (Och & Ney 2003, "A Systematic Comparison of Various Statistical Alignment
Models", section 5): with sure links ``S``, possible links ``P`` (``S ⊆ P``) and predicted links ``A``,

    AER = 1 - (|A ∩ S| + |A ∩ P|) / (|A| + |S|)

0 is perfect (``S ⊆ A ⊆ P``), 1 is no overlap at all. Over a corpus the four counts are summed first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["METHODS", "aer", "corpus_aer", "hard_alignment", "merge_to_words", "parse_pharaoh", "to_chars",
           "to_pharaoh"]

METHODS = ("argmax", "threshold")
Link = tuple[int, int]


def hard_alignment(weights, method: str = "argmax", threshold: float = 0.3) -> set[Link]:
    """Links ``(src, tgt)`` from attention ``weights`` ``[T, S]`` (row = target position).

    ``argmax``: each target position links to its most attended source position (one link per row).
    ``threshold``: every cell with weight ``>= threshold`` is a link (rows may get none or several).
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(f"attention weights must be [T, S] (target x source), got shape {list(w.shape)}")
    if method == "argmax":
        if w.shape[1] == 0:
            return set()
        return {(int(s), t) for t, s in enumerate(w.argmax(axis=1))}
    if method == "threshold":
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        tgt, src = np.nonzero(w >= threshold)
        return {(int(s), int(t)) for s, t in zip(src, tgt, strict=True)}
    raise ValueError(f"unknown alignment method {method!r}; choose one of {', '.join(METHODS)}")


def _word_index(text: str) -> list[int | None]:
    """For every character of ``text``: the index of the whitespace-separated word holding it, or None."""
    index: list[int | None] = []
    word, in_word = -1, False
    for ch in text:
        if ch.isspace():
            index.append(None)
            in_word = False
        else:
            if not in_word:
                word, in_word = word + 1, True
            index.append(word)
    return index


def _token_words(spans: Sequence[tuple[int, int]], text: str) -> list[int | None]:
    """Word of each token: the word containing the first non-space character of its span (None: all space)."""
    chars = _word_index(text)
    out: list[int | None] = []
    for start, end in spans:
        word = None
        for c in range(start, max(end, start + 1)):
            if 0 <= c < len(chars) and chars[c] is not None:
                word = chars[c]
                break
        out.append(word)
    return out


def merge_to_words(links: Iterable[Link], src_spans: Sequence[tuple[int, int]],
                   tgt_spans: Sequence[tuple[int, int]], src_text: str, tgt_text: str) -> set[Link]:
    """Token links -> links between whitespace-separated words of ``src_text`` and ``tgt_text``.

    ``*_spans`` are the tokens' character ranges (:meth:`attnkit.data.tokenizers.Tokenizer.spans`). A token
    belongs to the word that contains the start of its span (a SentencePiece token carrying a leading space
    belongs to the word after the space); tokens made only of whitespace, and links to positions without a
    span (such as the EOS row), are dropped. Several token links between the same words become one.
    """
    src_words, tgt_words = _token_words(src_spans, src_text), _token_words(tgt_spans, tgt_text)
    merged = set()
    for s, t in links:
        if 0 <= s < len(src_words) and 0 <= t < len(tgt_words):
            ws, wt = src_words[s], tgt_words[t]
            if ws is not None and wt is not None:
                merged.add((ws, wt))
    return merged


def to_chars(links: Iterable[Link], src_spans: Sequence[tuple[int, int]],
             tgt_spans: Sequence[tuple[int, int]]) -> set[Link]:
    """Token links -> character links: every character of the source token times every character of the
    target token (for a character tokenizer this is the identity). Links without a span are dropped."""
    out = set()
    for s, t in links:
        if 0 <= s < len(src_spans) and 0 <= t < len(tgt_spans):
            (a, b), (c, d) = src_spans[s], tgt_spans[t]
            out.update((i, j) for i in range(a, b) for j in range(c, d))
    return out


def to_pharaoh(links: Iterable[Link]) -> str:
    """``"i-j i-j ..."`` (source-target), sorted by source then target index."""
    return " ".join(f"{s}-{t}" for s, t in sorted(set(links)))


def parse_pharaoh(line: str) -> set[Link]:
    """Inverse of :func:`to_pharaoh`; also accepts fast_align's ``i?j`` possible links as plain links."""
    links = set()
    for item in line.split():
        sep = "-" if "-" in item else "?"
        try:
            s, t = item.split(sep)
            links.add((int(s), int(t)))
        except ValueError:
            raise ValueError(f"bad Pharaoh link {item!r} in {line!r}; expected 'i-j' with integers") from None
    return links


def _counts(sure: Iterable[Link], possible: Iterable[Link], predicted: Iterable[Link]) -> tuple[int, int, int, int]:
    """``(|A ∩ S|, |A ∩ P|, |A|, |S|)`` with ``P`` taken as ``P ∪ S``."""
    S, A = set(sure), set(predicted)
    P = set(possible) | S
    return len(A & S), len(A & P), len(A), len(S)


def _rate(a_s: int, a_p: int, a: int, s: int) -> float:
    # Nothing to align and nothing predicted is a perfect (empty) alignment.
    return 0.0 if a + s == 0 else 1.0 - (a_s + a_p) / (a + s)


def aer(sure: Iterable[Link], possible: Iterable[Link], predicted: Iterable[Link]) -> float:
    """Alignment error rate of one sentence (Och & Ney 2003); ``possible`` is extended by ``sure``."""
    return _rate(*_counts(sure, possible, predicted))


def corpus_aer(items: Iterable[tuple[Iterable[Link], Iterable[Link], Iterable[Link]]]) -> float:
    """AER over a corpus of ``(sure, possible, predicted)`` triples, counts summed before dividing."""
    totals = [0, 0, 0, 0]
    for sure, possible, predicted in items:
        for i, n in enumerate(_counts(sure, possible, predicted)):
            totals[i] += n
    return _rate(*totals)
