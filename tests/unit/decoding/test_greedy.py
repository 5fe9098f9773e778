"""Greedy search: batched == alone, attention of the chosen path, length budget, shrinking batch."""

from __future__ import annotations

import math

import pytest
import torch

from attnkit.decoding import Hypothesis, greedy_search

A, B, EOS = 3, 4, 2
TOL = {"rtol": 1e-9, "atol": 1e-9}  # float64 toy model; only summation order may differ


def test_padding_changes_nothing(gru, batch, decode_alone):
    src, mask = batch
    batched = greedy_search(gru, src, mask, max_len_ratio=1.0, max_len_offset=3)
    alone = decode_alone(greedy_search, gru, src, mask, max_len_ratio=1.0, max_len_offset=3)
    flags = {hyps[0].finished for hyps in batched}
    assert flags == {True, False}, "the toy batch must mix finished and length-cut sentences"
    for (got,), (want,) in zip(batched, alone, strict=True):
        assert isinstance(got, Hypothesis)
        assert got.tokens == want.tokens and got.finished == want.finished
        torch.testing.assert_close(got.score, want.score, **TOL)
        torch.testing.assert_close(got.attn, want.attn, **TOL)
        assert got.norm_score == got.score


def test_attention_rows_are_the_models_for_the_chosen_path(gru, batch, replay):
    src, mask = batch
    for b, (hyp,) in enumerate(greedy_search(gru, src, mask, max_len_ratio=1.0, max_len_offset=3)):
        real_len = int(mask[b].sum())
        assert hyp.attn.shape == (len(hyp.tokens) + hyp.finished, real_len)
        torch.testing.assert_close(hyp.attn.sum(-1), torch.ones(hyp.attn.size(0), dtype=torch.float64), **TOL)
        rows, score = replay(gru, src[b, :real_len], hyp.tokens, hyp.finished)
        torch.testing.assert_close(hyp.attn, rows, **TOL)
        torch.testing.assert_close(hyp.score, score, **TOL)
        assert EOS not in hyp.tokens


def test_greedy_walks_into_the_trap(trap):
    src = torch.tensor([[5, 6, 7]])
    [[hyp]] = greedy_search(trap, src, torch.ones_like(src, dtype=torch.bool))
    assert hyp.tokens == [A] and hyp.finished
    torch.testing.assert_close(hyp.score, math.log(trap.probs[1, A] * trap.probs[A, EOS]), rtol=1e-12, atol=1e-12)


def test_length_budget_respected_and_unfinished_flagged(endless):
    src = torch.tensor([[5, 6, 7], [5, 0, 0]])
    mask = src != 0
    hyps = greedy_search(endless, src, mask, max_len_ratio=1.5, max_len_offset=1)
    budgets = [math.ceil(3 * 1.5) + 1, math.ceil(1 * 1.5) + 1]  # 6 and 3
    for (hyp,), budget, real_len in zip(hyps, budgets, [3, 1], strict=True):
        assert not hyp.finished and len(hyp.tokens) == budget
        # the table model attends to position (step mod src_len): one-hot rows walking along the source
        want = torch.zeros(budget, real_len, dtype=torch.float64)
        want[torch.arange(budget), torch.arange(budget) % real_len] = 1.0
        torch.testing.assert_close(hyp.attn, want, rtol=0, atol=0)


def test_finished_sentences_leave_the_batch(endless, counting):
    model = counting(endless)
    src = torch.tensor([[5, 6, 7], [5, 0, 0]])
    greedy_search(model, src, src != 0, max_len_ratio=1.5, max_len_offset=1)
    assert model.rows == [2, 2, 2, 1, 1, 1]  # budgets 6 and 3: the short sentence stops costing after step 3


def test_bad_inputs_raise(gru, batch):
    src, mask = batch
    with pytest.raises(ValueError, match=r"src must be \[B, S\]"):
        greedy_search(gru, src[0], mask[0])
    with pytest.raises(ValueError, match="src_mask must be a bool tensor"):
        greedy_search(gru, src, mask.long())
    with pytest.raises(ValueError, match="max_len_ratio must be >= 0"):
        greedy_search(gru, src, mask, max_len_ratio=-1.0)
