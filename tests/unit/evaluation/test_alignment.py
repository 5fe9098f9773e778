"""Hard alignments, word merging, Pharaoh text and AER, checked against hand-computed cases."""

from datetime import date

import numpy as np
import pytest
import torch

from attnkit.data import format_date, train_tokenizer
from attnkit.evaluation.alignment import (
    aer,
    corpus_aer,
    hard_alignment,
    merge_to_words,
    parse_pharaoh,
    to_chars,
    to_pharaoh,
)


def test_argmax_links_every_target_row_to_its_peak():
    w = np.array([[0.7, 0.2, 0.1],
                  [0.1, 0.1, 0.8],
                  [0.3, 0.4, 0.3]])  # [T=3, S=3]
    assert hard_alignment(w) == {(0, 0), (2, 1), (1, 2)}
    assert hard_alignment(torch.tensor(w)) == {(0, 0), (2, 1), (1, 2)}


def test_threshold_keeps_all_strong_cells_and_may_leave_rows_empty():
    w = np.array([[0.5, 0.5, 0.0],
                  [0.2, 0.2, 0.6],
                  [0.25, 0.25, 0.5],
                  [0.34, 0.33, 0.33]])
    assert hard_alignment(w, "threshold", 0.3) == {(0, 0), (1, 0), (2, 1), (2, 2), (0, 3), (1, 3), (2, 3)}
    assert hard_alignment(w, "threshold", 0.55) == {(2, 1)}
    with pytest.raises(ValueError, match="unknown alignment method"):
        hard_alignment(w, "intersect")
    with pytest.raises(ValueError, match=r"\[T, S\]"):
        hard_alignment(np.zeros(3))


def test_pharaoh_is_sorted_source_target_and_parses_back():
    links = {(2, 0), (0, 1), (0, 0), (10, 3)}
    assert to_pharaoh(links) == "0-0 0-1 2-0 10-3"
    assert parse_pharaoh(to_pharaoh(links)) == links
    assert to_pharaoh(set()) == ""
    with pytest.raises(ValueError, match="bad Pharaoh link"):
        parse_pharaoh("0-1 x-2")


def test_aer_perfect_empty_and_textbook():
    sure, possible = {(0, 0), (1, 1)}, {(1, 2)}  # possible is extended by sure
    assert aer(sure, possible, sure) == 0.0
    assert aer(sure, possible, sure | possible) == 0.0  # S ⊆ A ⊆ P costs nothing
    assert aer(sure, possible, set()) == 1.0
    assert aer(sure, possible, {(5, 5)}) == 1.0
    # A = {(0,0), (1,2), (2,2)}: |A∩S| = 1, |A∩P| = 2, |A| = 3, |S| = 2 -> 1 - 3/5
    assert aer(sure, possible, {(0, 0), (1, 2), (2, 2)}) == pytest.approx(0.4)
    # only possible links predicted: |A∩S| = 0, |A∩P| = 1, |A| = 1, |S| = 2 -> 1 - 1/3
    assert aer(sure, possible, {(1, 2)}) == pytest.approx(2 / 3)
    assert aer(set(), set(), set()) == 0.0


def test_corpus_aer_sums_counts_instead_of_averaging_rates():
    a = ({(0, 0)}, set(), {(0, 0)})  # 1 sure, perfect
    b = ({(0, 0), (1, 1), (2, 2)}, set(), {(0, 1)})  # 3 sure, wrong
    # counts: |A∩S| = 1, |A∩P| = 1, |A| = 2, |S| = 4 -> 1 - 2/6 (the mean of per-sentence rates would be 0.5)
    assert corpus_aer([a, b]) == pytest.approx(2 / 3)
    assert corpus_aer([]) == 0.0


def test_merge_to_words_from_characters_drops_spaces_and_eos():
    src, tgt = "3 de marzo", "1998-03-03 x"
    src_spans = [(i, i + 1) for i in range(len(src))]
    tgt_spans = [(i, i + 1) for i in range(len(tgt))]
    links = {(0, 9), (1, 0), (5, 6), (9, 5), (8, 11), (3, 12)}  # (1, *) is a space; target 12 is EOS
    assert merge_to_words(links, src_spans, tgt_spans, src, tgt) == {(0, 0), (2, 0), (2, 1)}


def test_merge_to_words_with_subword_spans():
    tok = train_tokenizer("sentencepiece", ["the cat sat on the mat"] * 50 + ["concatenation"] * 50,
                          vocab_size=40, model_type="bpe")
    src = "the concatenation"
    spans = tok.spans(src)
    words = merge_to_words({(i, i) for i in range(len(spans))}, spans, spans, src, src)
    assert {s for s, _ in words} <= {0, 1} and (1, 1) in words and (0, 0) in words
    assert all(s == t for s, t in words)


def test_to_chars_expands_token_links_to_their_characters():
    src_spans, tgt_spans = [(0, 2), (2, 3)], [(0, 1), (1, 4)]
    assert to_chars({(0, 1), (1, 7)}, src_spans, tgt_spans) == {(0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (1, 3)}


def test_gold_alignment_scores_zero_against_itself():
    pair = format_date(date(1998, 3, 3), "es_long")
    assert aer(pair.sure, pair.possible, pair.sure) == 0.0
    assert aer(pair.sure, pair.possible, pair.possible) == 0.0
