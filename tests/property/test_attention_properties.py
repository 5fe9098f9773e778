"""Invariants every attention must hold, over random shapes, masks and scores."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from attnkit.attention import Attention, HardAttention, LocalAttention, MultiHeadAttention, causal_mask

SOFT_SCORES = ["dot", "scaled_dot", "general", "concat", "additive"]


@st.composite
def problems(draw, max_b=3, max_t=4, max_s=7, dim=6):
    """A batch of queries/keys/values with a key-padding mask that keeps >= 1 key per example."""
    B, T, S = draw(st.integers(1, max_b)), draw(st.integers(1, max_t)), draw(st.integers(1, max_s))
    seed = draw(st.integers(0, 2**16))
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([draw(st.integers(1, S)) for _ in range(B)])
    mask = torch.arange(S)[None, :] < lengths[:, None]  # [B, S]
    q = torch.randn(B, T, dim, generator=gen, dtype=torch.float64)
    k = torch.randn(B, S, dim, generator=gen, dtype=torch.float64)
    v = torch.randn(B, S, dim, generator=gen, dtype=torch.float64)
    return q, k, v, mask


def _module(score, normalizer="softmax", dim=6):
    torch.manual_seed(0)
    return Attention(score, dim, dim, 5, normalizer=normalizer).double()


@pytest.mark.parametrize("normalizer", ["softmax", "sparsemax"])
@pytest.mark.parametrize("score", SOFT_SCORES)
@given(problem=problems())
def test_weights_are_a_distribution_over_unmasked_keys(score, normalizer, problem):
    q, k, v, mask = problem
    out = _module(score, normalizer)(q, k, v, mask)
    w = out.attn_weights
    assert (w >= 0).all()
    assert (w.masked_select(~mask[:, None, :].expand_as(w)) == 0).all()  # exactly zero, not tiny
    torch.testing.assert_close(w.sum(-1), torch.ones_like(w.sum(-1)), rtol=0, atol=1e-10)
    assert out.context.shape == (q.size(0), q.size(1), v.size(2))


@pytest.mark.parametrize("score", SOFT_SCORES)
@given(problem=problems())
def test_masked_keys_and_values_change_nothing(score, problem):
    q, k, v, mask = problem
    attn = _module(score)
    noise = (~mask)[..., None] * 1e3
    a = attn(q, k, v, mask)
    b = attn(q, k + noise, v - noise, mask)
    torch.testing.assert_close(a.context, b.context, rtol=0, atol=1e-9)
    torch.testing.assert_close(a.attn_weights, b.attn_weights, rtol=0, atol=1e-12)


@pytest.mark.parametrize("score", SOFT_SCORES)
@given(problem=problems(), perm_seed=st.integers(0, 1000))
def test_permuting_keys_permutes_weights(score, problem, perm_seed):
    q, k, v, mask = problem
    perm = torch.randperm(k.size(1), generator=torch.Generator().manual_seed(perm_seed))
    attn = _module(score)
    a = attn(q, k, v, mask)
    b = attn(q, k[:, perm], v[:, perm], mask[:, perm])
    torch.testing.assert_close(b.attn_weights, a.attn_weights[:, :, perm], rtol=0, atol=1e-10)
    torch.testing.assert_close(b.context, a.context, rtol=0, atol=1e-9)


@pytest.mark.parametrize("score", SOFT_SCORES)
def test_row_with_nothing_to_attend_is_zero_not_nan(score):
    q, k, v = torch.randn(2, 3, 6), torch.randn(2, 4, 6), torch.randn(2, 4, 6)
    mask = torch.tensor([[True, True, False, False], [False] * 4])
    for normalizer in ("softmax", "sparsemax"):
        attn = Attention(score, 6, 6, 5, normalizer=normalizer)
        q.requires_grad_(True)
        out = attn(q, k, v, mask)
        assert torch.isfinite(out.context).all()
        assert (out.context[1] == 0).all() and (out.attn_weights[1] == 0).all()
        out.context.sum().backward()
        assert torch.isfinite(q.grad).all()
        q.grad = None


@given(problem=problems(max_t=6, max_s=6))
def test_causal_mask_hides_the_future(problem):
    q, k, v, _ = problem
    T = min(q.size(1), k.size(1))
    q, k, v = q[:, :T], k[:, :T], v[:, :T]
    w = _module("scaled_dot")(q, k, v, causal_mask(T)).attn_weights  # [B, T, T]
    assert (w.triu(diagonal=1) == 0).all()
    torch.testing.assert_close(w.sum(-1), torch.ones(w.shape[:2], dtype=w.dtype))


@pytest.mark.parametrize("estimator", ["reinforce", "straight_through", "gumbel"])
@given(problem=problems())
def test_hard_attention_samples_only_unmasked_keys(estimator, problem):
    q, k, v, mask = problem
    torch.manual_seed(1)
    hard = HardAttention("additive", 6, 6, 5, estimator=estimator).double()
    for _ in range(5):
        out = hard(q, k, v, mask)
        assert mask.gather(1, out.sample.view(q.size(0), -1)).all()
        chosen = v.gather(1, out.sample[..., None].expand(-1, -1, v.size(2)))  # [B, T, Dv]
        torch.testing.assert_close(out.context, chosen, rtol=0, atol=1e-10)
        assert (out.log_prob <= 0).all() and torch.isfinite(out.log_prob).all()


def test_hard_attention_log_prob_is_log_of_weight_and_carries_gradient():
    torch.manual_seed(0)
    hard = HardAttention("general", 4, 4)
    q, k = torch.randn(3, 2, 4), torch.randn(3, 5, 4)
    out = hard(q, k, k)
    expected = out.attn_weights.gather(-1, out.sample[..., None]).squeeze(-1).log()
    torch.testing.assert_close(out.log_prob, expected)
    out.log_prob.sum().backward()
    assert hard.attention.score.W_a.weight.grad.abs().sum() > 0


def test_hard_attention_sampling_frequencies_follow_weights():
    torch.manual_seed(0)
    hard = HardAttention("dot", 3, 3)
    q, k = torch.randn(1, 1, 3) * 2, torch.randn(1, 4, 3)
    q = q.expand(4000, 1, 3).contiguous()
    k = k.expand(4000, 4, 3).contiguous()
    out = hard(q, k, k)
    freq = torch.bincount(out.sample.flatten(), minlength=4).float() / 4000
    torch.testing.assert_close(freq, out.attn_weights[0, 0], atol=0.03, rtol=0)


@pytest.mark.parametrize("mode", ["monotonic", "predictive"])
@given(problem=problems(max_t=5, max_s=12), window=st.integers(0, 3))
def test_local_attention_is_zero_outside_its_window(mode, problem, window):
    q, k, v, mask = problem
    torch.manual_seed(0)
    local = LocalAttention("general", 6, 6, 5, window=window, mode=mode).double()
    out = local(q, k, v, mask)
    s = torch.arange(k.size(1), dtype=q.dtype)
    outside = (s[None, None, :] - out.positions[..., None]).abs() > window
    assert (out.attn_weights[outside] == 0).all()
    assert (out.attn_weights.masked_select(~mask[:, None, :].expand_as(out.attn_weights)) == 0).all()
    assert (out.attn_weights.sum(-1) <= 1 + 1e-9).all()
    if mode == "monotonic":  # local-m is a proper distribution over its window
        torch.testing.assert_close(out.attn_weights.sum(-1), torch.ones_like(out.positions))


@given(problem=problems(max_t=4, max_s=6, dim=8))
def test_multihead_weights_are_distributions_and_paths_agree(problem):
    q, k, v, mask = problem
    torch.manual_seed(0)
    mha = MultiHeadAttention(8, 2).double().eval()
    explicit = mha(q, k, v, mask, need_weights=True, average_weights=False)
    fused = mha(q, k, v, mask)
    torch.testing.assert_close(fused.output, explicit.output, rtol=1e-9, atol=1e-9)
    w = explicit.attn_weights  # [B, H, T, S]
    assert (w.masked_select(~mask[:, None, None, :].expand_as(w)) == 0).all()
    torch.testing.assert_close(w.sum(-1), torch.ones_like(w.sum(-1)))
