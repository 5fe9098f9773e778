"""Beam search: K=1 == greedy, batched == alone, escapes the greedy trap, n-best, GNMT penalty, budgets."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from attnkit.decoding import beam_search, greedy_search
from attnkit.decoding.beam import gnmt_length_penalty

BOS, EOS, A, B = 1, 2, 3, 4
TOL = {"rtol": 1e-9, "atol": 1e-9}  # float64 toy model; only summation order may differ
OPTS = {"max_len_ratio": 1.0, "max_len_offset": 3}


def test_beam_one_is_greedy_exactly(gru, batch):
    src, mask = batch
    greedy = greedy_search(gru, src, mask, **OPTS)
    beam = beam_search(gru, src, mask, beam=1, **OPTS)
    assert {hyps[0].finished for hyps in greedy} == {True, False}
    for (g,), (b,) in zip(greedy, beam, strict=True):
        assert b.tokens == g.tokens and b.finished == g.finished
        assert b.score == g.score  # same additions in the same order: bit-identical
        assert torch.equal(b.attn, g.attn)
        torch.testing.assert_close(b.norm_score, g.score / gnmt_length_penalty(len(g.attn), 0.6), rtol=1e-12, atol=0)


@pytest.mark.parametrize("beam", [3, 5])
def test_padding_changes_nothing(gru, batch, decode_alone, beam):
    src, mask = batch
    batched = beam_search(gru, src, mask, beam=beam, n_best=beam, **OPTS)
    alone = decode_alone(beam_search, gru, src, mask, beam=beam, n_best=beam, **OPTS)
    for got_list, want_list in zip(batched, alone, strict=True):
        assert [h.tokens for h in got_list] == [h.tokens for h in want_list]
        for got, want in zip(got_list, want_list, strict=True):
            assert got.finished == want.finished
            torch.testing.assert_close(got.score, want.score, **TOL)
            torch.testing.assert_close(got.norm_score, want.norm_score, **TOL)
            torch.testing.assert_close(got.attn, want.attn, **TOL)


def test_attention_follows_the_backpointers(gru, batch, replay):
    src, mask = batch
    for b, hyps in enumerate(beam_search(gru, src, mask, beam=4, n_best=4, **OPTS)):
        real_len = int(mask[b].sum())
        for hyp in hyps:
            assert hyp.attn.shape == (len(hyp.tokens) + hyp.finished, real_len)
            torch.testing.assert_close(hyp.attn.sum(-1), torch.ones(hyp.attn.size(0), dtype=torch.float64), **TOL)
            rows, score = replay(gru, src[b, :real_len], hyp.tokens, hyp.finished)
            torch.testing.assert_close(hyp.attn, rows, **TOL)
            torch.testing.assert_close(hyp.score, score, **TOL)


def test_n_best_sorted_and_distinct(gru, batch):
    src, mask = batch
    results = beam_search(gru, src, mask, beam=5, n_best=5, **OPTS)
    assert any(len({h.finished for h in hyps}) == 2 for hyps in results)  # finished and cut ones get ranked together
    for hyps in results:
        assert len(hyps) == 5
        norms = [h.norm_score for h in hyps]
        assert norms == sorted(norms, reverse=True)
        assert len({tuple(h.tokens) for h in hyps}) == 5


@pytest.mark.parametrize("beam", [2, 3])
def test_beam_escapes_the_greedy_trap(trap, beam):
    src = torch.tensor([[5, 6, 7]])
    mask = torch.ones_like(src, dtype=torch.bool)
    [[greedy]] = greedy_search(trap, src, mask)
    [[best]] = beam_search(trap, src, mask, beam=beam, length_penalty=0.0)
    # brute force over every output of up to 4 tokens: B then EOS is the most probable sequence
    p = trap.probs
    seqs = [s for n in range(5) for s in itertools.product(range(5), repeat=n)]
    prob = {s: math.prod(p[prev, nxt].item() for prev, nxt in itertools.pairwise((BOS, *s, EOS))) for s in seqs}
    assert max(prob, key=prob.get) == (B,)
    assert greedy.tokens == [A] and best.tokens == [B] and best.finished
    torch.testing.assert_close(best.score, math.log(prob[(B,)]), rtol=1e-12, atol=1e-12)
    assert best.score > greedy.score


def test_gnmt_length_penalty_by_hand():
    # Wu et al. 2016, eq. 14: ((5 + 2) / 6) ** 0.6 = exp(0.6 * ln(7/6)) = exp(0.0924904) = 1.0969026
    torch.testing.assert_close(gnmt_length_penalty(2, 0.6), 1.0969026, rtol=0, atol=1e-7)
    assert gnmt_length_penalty(1, 0.6) == 1.0 and gnmt_length_penalty(7, 0.0) == 1.0
    torch.testing.assert_close(gnmt_length_penalty(3, 2.0), 64 / 36, rtol=1e-15, atol=0)


def test_length_penalty_decides_the_ranking(table_model):
    # [] (EOS at once) has p = 0.52; [A] has p = 0.45 * 0.98 = 0.441 over 2 steps.
    model = table_model({BOS: {EOS: 0.52, A: 0.45, B: 0.03}, A: {EOS: 0.98, A: 0.01, B: 0.01}, B: {EOS: 0.5, A: 0.5}})
    src = torch.tensor([[5, 6]])
    mask = torch.ones_like(src, dtype=torch.bool)
    plain = beam_search(model, src, mask, beam=2, n_best=2, length_penalty=0.0)[0]
    assert [h.tokens for h in plain] == [[], [A]]
    ranked = beam_search(model, src, mask, beam=2, n_best=2, length_penalty=2.0)[0]
    assert [h.tokens for h in ranked] == [[A], []]
    long_one = ranked[0]
    torch.testing.assert_close(long_one.score, math.log(model.probs[BOS, A] * model.probs[A, EOS]), rtol=1e-12, atol=0)
    # by hand: lp = ((5 + 2) / 6) ** 2 = 49 / 36; log(0.441) / (49 / 36) = -0.6015 > log(0.52) = -0.6539
    torch.testing.assert_close(long_one.norm_score, long_one.score * 36 / 49, rtol=1e-12, atol=0)
    assert ranked[1].norm_score == ranked[1].score  # |Y| = 1: lp = 1


def test_length_budget_respected_and_unfinished_flagged(endless, counting):
    model = counting(endless)
    src = torch.tensor([[5, 6, 7], [5, 0, 0]])
    results = beam_search(model, src, src != 0, beam=3, n_best=3, max_len_ratio=1.5, max_len_offset=1)
    for hyps, budget in zip(results, [6, 3], strict=True):
        assert len(hyps) == 3 and len({tuple(h.tokens) for h in hyps}) == 3
        for hyp in hyps:
            assert not hyp.finished and len(hyp.tokens) == budget and hyp.attn.shape[0] == budget
            torch.testing.assert_close(hyp.norm_score, hyp.score / ((5 + budget) / 6) ** 0.6, rtol=1e-12, atol=0)
    assert model.rows == [2, 6, 6, 3, 3, 3]  # the first step once a sentence, B*K rows, then the long one's K


def test_k_early_endings_do_not_end_a_sentence_a_live_beam_can_still_beat(table_model):
    # Step 0 finishes EOS (0.002) and step 1 B-EOS (0.998 * 0.002): K = 2 finished hypotheses, both
    # ranked within the top K only because the second beam is weak, while B A ... (0.998 * 0.996 * 0.5
    # with EOS next) is still live and far more probable.
    model = table_model({BOS: {B: 0.998, EOS: 0.002}, B: {A: 0.996, EOS: 0.002, B: 0.002}, A: {EOS: 0.5, A: 0.5}})
    src = torch.tensor([[5]])
    [[best]] = beam_search(model, src, torch.ones_like(src, dtype=torch.bool), beam=2, length_penalty=0.0,
                           max_len_ratio=1.0, max_len_offset=4)
    assert best.tokens == [B, A] and best.finished
    torch.testing.assert_close(best.score, math.log(0.998 * 0.996 * 0.5), rtol=1e-4, atol=0)  # table floor 1e-6


def test_a_sentence_stops_once_its_best_ending_cannot_be_beaten(table_model, counting):
    # A then EOS (0.9 * 0.99) finishes at step 1 above every live path; the other beam (B ...) never ends.
    # Waiting for K = 2 finished hypotheses would decode to the budget; the n-best list of 1 is final at once.
    model = counting(table_model({BOS: {A: 0.9, B: 0.1}, A: {EOS: 0.99, A: 0.01}, B: {B: 1.0}}))
    src = torch.tensor([[5, 6, 7]])
    mask = torch.ones_like(src, dtype=torch.bool)
    [[best]] = beam_search(model, src, mask, beam=2, length_penalty=0.6, max_len_offset=10)
    assert best.tokens == [A] and best.finished
    assert model.rows == [1, 2]  # two steps, not the 16-step budget
    model.rows.clear()
    both = beam_search(model, src, mask, beam=2, n_best=2, length_penalty=0.6, max_len_offset=10)[0]
    assert both[0].tokens == [A] and len(model.rows) == 16  # the second of 2 never finishes


@pytest.mark.parametrize("alpha", [0.0, 0.6, 2.0])
def test_stopping_early_changes_no_result(gru, batch, alpha):
    # n_best = 1 may stop a sentence before K hypotheses finished; its best must be the one a search that
    # goes on (n_best = K) finds
    src, mask = batch
    one = beam_search(gru, src, mask, beam=4, length_penalty=alpha, max_len_ratio=2.0, max_len_offset=4)
    full = beam_search(gru, src, mask, beam=4, n_best=4, length_penalty=alpha, max_len_ratio=2.0, max_len_offset=4)
    for (got,), want in zip(one, full, strict=True):
        assert got.tokens == want[0].tokens and got.finished == want[0].finished
        torch.testing.assert_close(got.norm_score, want[0].norm_score, **TOL)


@pytest.mark.parametrize("alpha", [0.0, 0.6])
def test_each_n_best_list_is_the_head_of_the_full_one(gru, batch, alpha):
    # a search for n_best = n stops earlier and builds only the hypotheses that can still be among the n
    # best; what it returns must be the first n of what a search that goes on to K finished ones returns
    src, mask = batch
    opts = {"beam": 4, "length_penalty": alpha, "max_len_ratio": 2.0, "max_len_offset": 4}
    full = beam_search(gru, src, mask, n_best=4, **opts)
    for n in (1, 2, 3):
        for got, want in zip(beam_search(gru, src, mask, n_best=n, **opts), full, strict=True):
            assert [(h.tokens, h.finished, h.norm_score) for h in got] == [
                (h.tokens, h.finished, h.norm_score) for h in want[:n]]


@pytest.mark.parametrize("search", ["greedy", "beam1", "beam3", "beam3_nbest3"])
def test_without_attention_the_same_hypotheses(gru, batch, search):
    src, mask = batch
    fn, kw = (greedy_search, {}) if search == "greedy" else (beam_search, {
        "beam": int(search[4]), "n_best": 3 if search.endswith("nbest3") else 1})
    with_attn = fn(gru, src, mask, **OPTS, **kw)
    without = fn(gru, src, mask, **OPTS, **kw, attention=False)
    for got_list, want_list in zip(without, with_attn, strict=True):
        assert [(h.tokens, h.score, h.norm_score, h.finished) for h in got_list] == [
            (h.tokens, h.score, h.norm_score, h.finished) for h in want_list]
        assert all(h.attn is None for h in got_list) and all(h.attn is not None for h in want_list)


def test_first_step_expands_beam_zero_only(trap):
    # V = 5 < 2K: without the -inf start, the K identical beams would yield K copies of each hypothesis
    src = torch.tensor([[5]])
    hyps = beam_search(trap, src, torch.ones_like(src, dtype=torch.bool), beam=4, n_best=4, max_len_offset=2)[0]
    assert len({tuple(h.tokens) for h in hyps}) == len(hyps) == 4


def test_bad_options_raise(gru, batch):
    src, mask = batch
    with pytest.raises(ValueError, match=r"n_best must be in \[1, beam=2\]"):
        beam_search(gru, src, mask, beam=2, n_best=3)
    with pytest.raises(ValueError, match="beam must be >= 1"):
        beam_search(gru, src, mask, beam=0)
    with pytest.raises(ValueError, match="length_penalty must be a finite number"):
        beam_search(gru, src, mask, length_penalty=float("nan"))


def test_protocol_violation_is_reported(gru, batch):
    class NoAttention:
        def encode(self, src, src_mask):
            return gru.encode(src, src_mask)

        def decode_step(self, tokens, state):
            log_probs, state, attn = gru.decode_step(tokens, state)
            return log_probs, state, attn[:, :1]

    src, mask = batch
    with pytest.raises(ValueError, match=r"decode_step must return attn \[N=6, \.\.\., S=7\], got \[6, 1\]"):
        beam_search(NoAttention(), src, mask, beam=3)
