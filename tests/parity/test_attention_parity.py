"""Parity: every mechanism against a plain re-derivation of its formula or a live reference."""

import math

import pytest
import torch
from torch import nn

from attnkit.attention import (
    Attention,
    AttentionPooling,
    CoAttention,
    LocalAttention,
    MultiHeadAttention,
    additive_scores,
    additive_scores_lean,
)

TOL = {"rtol": 1e-10, "atol": 1e-10}


def _qk(B=2, T=3, S=4, Dq=5, Dk=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(B, T, Dq, generator=g, dtype=torch.float64)
    return q, torch.randn(B, S, Dk, generator=g, dtype=torch.float64)


def _loop_scores(q, k, fn):
    """Score every (b, t, s) pair one at a time with the paper's formula."""
    B, T, S = q.size(0), q.size(1), k.size(1)
    out = torch.empty(B, T, S, dtype=q.dtype)
    for b in range(B):
        for t in range(T):
            for s in range(S):
                out[b, t, s] = fn(q[b, t], k[b, s])
    return out


def _formula(name, attn):
    sc = attn.score
    if name == "dot":
        return lambda h_t, h_s: h_t @ h_s
    if name == "scaled_dot":
        return lambda h_t, h_s: h_t @ h_s / math.sqrt(h_s.numel())
    if name == "general":  # Luong eq. 8: h_t^T W_a h_s
        return lambda h_t, h_s: h_t @ sc.W_a.weight @ h_s
    if name == "concat":  # Luong eq. 8: v_a^T tanh(W_a [h_t; h_s])
        return lambda h_t, h_s: sc.v @ torch.tanh(sc.W_a.weight @ torch.cat([h_t, h_s]))
    if name == "additive":  # Bahdanau: v^T tanh(W q + U k + b)
        return lambda h_t, h_s: sc.v @ torch.tanh(sc.W.weight @ h_t + sc.U.weight @ h_s + sc.W.bias)
    raise AssertionError(name)


@pytest.mark.parametrize("memory_efficient", [True, False])
@pytest.mark.parametrize("name", ["dot", "scaled_dot", "general", "concat", "additive"])
def test_score_matches_formula(name, memory_efficient):
    torch.manual_seed(0)
    dk = 5 if name in ("dot", "scaled_dot") else 7
    q, k = _qk(Dk=dk)
    attn = Attention(name, 5, dk, 6, memory_efficient=memory_efficient).double()
    torch.testing.assert_close(attn.scores(q, k), _loop_scores(q, k, _formula(name, attn)), **TOL)
    # One decoder step with keys projected once per source gives the same row.
    pk = attn.project_keys(k)
    torch.testing.assert_close(attn.scores(q[:, 1:2], k, pk), attn.scores(q, k)[:, 1:2], **TOL)


def test_attention_context_is_weighted_sum_of_values():
    torch.manual_seed(0)
    q, k = _qk()
    v = torch.randn(2, 4, 3, dtype=torch.float64)
    out = Attention("general", 5, 5).double()(q, k, v)
    manual = torch.einsum("bts,bsd->btd", torch.softmax(out.attn_weights.log(), -1), v)
    torch.testing.assert_close(out.context, manual, **TOL)


def test_learned_query_pooling_matches_han_equations():
    torch.manual_seed(0)
    pool = AttentionPooling(5, 4).double()
    x = torch.randn(2, 6, 5, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], dtype=torch.bool)
    out = pool(x, mask)
    W, b, u_w = pool.score.W.weight, pool.score.W.bias, pool.score.u_w
    for i, n in enumerate((4, 6)):
        u = torch.tanh(x[i, :n] @ W.T + b)  # eq. 5
        alpha = torch.softmax(u @ u_w, 0)  # eq. 6
        torch.testing.assert_close(out.attn_weights[i, :n], alpha, **TOL)
        torch.testing.assert_close(out.context[i], alpha @ x[i, :n], **TOL)  # eq. 7


def test_coattention_matches_formula():
    torch.manual_seed(0)
    x1, x2 = torch.randn(2, 3, 4, dtype=torch.float64), torch.randn(2, 5, 4, dtype=torch.float64)
    m1 = torch.tensor([[1, 1, 1], [1, 1, 0]], dtype=torch.bool)
    m2 = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    out = CoAttention(4)(x1, x2, m1, m2)
    for b, (n, m) in enumerate(((3, 5), (2, 3))):
        L = x1[b, :n] @ x2[b, :m].T
        a1, a2 = torch.softmax(L, 1), torch.softmax(L.T, 1)
        torch.testing.assert_close(out.attn1[b, :n, :m], a1, **TOL)
        torch.testing.assert_close(out.attn2[b, :m, :n], a2, **TOL)
        torch.testing.assert_close(out.context1[b, :n], a1 @ x2[b, :m], **TOL)
        torch.testing.assert_close(out.context2[b, :m], a2 @ x1[b, :n], **TOL)
    assert (out.attn1[1, 2] == 0).all() and (out.attn2[1, 3:] == 0).all()


def test_local_p_matches_luong_equations():
    torch.manual_seed(0)
    D = 2
    local = LocalAttention("dot", 5, 5, 4, window=D, mode="predictive").double()
    q, k = _qk(S=9)
    out = local(q, k, k)
    for b in range(2):
        for t in range(3):
            p = 9 * torch.sigmoid(local.v_p.weight @ torch.tanh(local.W_p.weight @ q[b, t]))  # eq. 9
            s = torch.arange(9, dtype=torch.float64)
            inside = (s - p).abs() <= D
            a = torch.zeros(9, dtype=torch.float64)
            a[inside] = torch.softmax(k[b][inside] @ q[b, t], 0)
            a = a * torch.exp(-((s - p) ** 2) / (2 * (D / 2) ** 2))  # eq. 10
            torch.testing.assert_close(out.attn_weights[b, t], a, **TOL)


@pytest.mark.parametrize("kdim", [None, 6])
@pytest.mark.parametrize("mask_kind", ["none", "padding", "causal", "full"])
def test_multihead_equals_torch(mask_kind, kdim):
    torch.manual_seed(0)
    B, T, S, D, H = 3, 4, 4, 8, 2
    ref = nn.MultiheadAttention(D, H, batch_first=True, kdim=kdim, vdim=kdim).double().eval()
    ours = MultiHeadAttention(D, H, kdim=kdim, vdim=kdim).double().eval().load_torch_weights(ref)
    q = torch.randn(B, T, D, dtype=torch.float64)
    kv = torch.randn(B, S, kdim or D, dtype=torch.float64)
    ref_kwargs, mask = {}, None
    if mask_kind == "padding":
        mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=torch.bool)
        ref_kwargs["key_padding_mask"] = ~mask  # torch: True = ignore
    elif mask_kind == "causal":
        mask = torch.ones(1, T, S, dtype=torch.bool).tril()
        ref_kwargs["attn_mask"] = ~mask[0]
    elif mask_kind == "full":
        mask = torch.rand(B, T, S, generator=torch.Generator().manual_seed(3)) > 0.4
        mask[..., 0] = True
        ref_kwargs["attn_mask"] = (~mask).repeat_interleave(H, dim=0)
    for average in (True, False):
        out_ref, w_ref = ref(q, kv, kv, need_weights=True, average_attn_weights=average, **ref_kwargs)
        out = ours(q, kv, kv, mask, need_weights=True, average_weights=average)
        torch.testing.assert_close(out.output, out_ref, rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(out.attn_weights, w_ref, rtol=1e-10, atol=1e-10)
    fused = ours(q, kv, kv, mask)
    torch.testing.assert_close(fused.output, out_ref, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(("T", "S", "D", "H"), [(1, 3, 64, 2), (1, 12, 128, 4), (2, 5, 16, 2), (8, 20, 64, 2)])
def test_multihead_weights_like_torch_below_and_above_the_tiny_product_size(T, S, D, H):
    """The explicit path computes tiny products (T * S * head dim < 400, a decoding step's self-attention)
    as broadcast sums and larger ones with batched matrix products: both equal torch's module."""
    torch.manual_seed(1)
    B = 3
    ref = nn.MultiheadAttention(D, H, batch_first=True).double().eval()
    ours = MultiHeadAttention(D, H).double().eval().load_torch_weights(ref)
    q, kv = torch.randn(B, T, D, dtype=torch.float64), torch.randn(B, S, D, dtype=torch.float64)
    mask = torch.ones(B, S, dtype=torch.bool)
    mask[1, S // 2:] = False
    out_ref, w_ref = ref(q, kv, kv, key_padding_mask=~mask, need_weights=True, average_attn_weights=False)
    out = ours(q, kv, kv, mask, need_weights=True, average_weights=False)
    torch.testing.assert_close(out.output, out_ref, **TOL)
    torch.testing.assert_close(out.attn_weights, w_ref, **TOL)


def test_multihead_self_attention_stacks_projections_like_torch():
    """Self-attention (query, key and value the same tensor) takes one product of the stacked q/k/v
    projections, and key = value one of the stacked k/v: the same outputs and gradients as torch's module
    and as the separate products; without autograd the stacked weights are kept, and rebuilt once a
    projection changes in place."""
    torch.manual_seed(0)
    B, T, D, H = 3, 5, 8, 2
    ref = nn.MultiheadAttention(D, H, batch_first=True).double()
    ours = MultiHeadAttention(D, H).double().load_torch_weights(ref).eval()
    x = torch.randn(B, T, D, dtype=torch.float64, requires_grad=True)
    mask = torch.ones(1, T, T, dtype=torch.bool).tril()
    out_ref, _ = ref(x, x, x, attn_mask=~mask[0], need_weights=False)
    out = ours(x, x, x, mask).output
    torch.testing.assert_close(out, out_ref, **TOL)
    separate = ours(x, x.clone(), x.clone(), mask).output  # three tensors: three products
    torch.testing.assert_close(out, separate, **TOL)
    g = torch.randn_like(out)
    ref_grads = torch.autograd.grad(out_ref, [x, ref.in_proj_weight, ref.in_proj_bias], g)
    grads = torch.autograd.grad(out, [x, ours.q_proj.weight, ours.k_proj.weight, ours.v_proj.weight,
                                      ours.q_proj.bias, ours.k_proj.bias, ours.v_proj.bias], g)
    torch.testing.assert_close(grads[0], ref_grads[0], **TOL)
    torch.testing.assert_close(torch.cat(grads[1:4]), ref_grads[1], **TOL)
    torch.testing.assert_close(torch.cat(grads[4:7]), ref_grads[2], **TOL)
    q, (k, v) = ours.project_qkv(x)
    torch.testing.assert_close(q, ours._split(ours.q_proj(x)), **TOL)
    torch.testing.assert_close(k, ours._split(ours.k_proj(x)), **TOL)
    torch.testing.assert_close(ours.project_kv(x, x)[1], v, **TOL)
    with torch.no_grad():
        before = ours(x, x, x, mask).output
        torch.testing.assert_close(before, out.detach(), **TOL)
        ours.v_proj.weight.mul_(2.0)  # in place: the kept stack is stale and must be rebuilt
        after = ours(x, x, x, mask).output
        torch.testing.assert_close(after, ours(x, x.clone(), x.clone(), mask).output, **TOL)
        assert not torch.allclose(after, before)


def test_multihead_query_with_no_key_gives_zero_context():
    mha = MultiHeadAttention(8, 2).eval()
    for p in mha.out_proj.parameters():
        nn.init.zeros_(p) if p.dim() == 1 else nn.init.eye_(p)
    q, kv = torch.randn(2, 3, 8), torch.randn(2, 4, 8)
    mask = torch.ones(2, 3, 4, dtype=torch.bool)
    mask[1, 2] = False
    for need in (False, True):
        out = mha(q, kv, kv, mask, need_weights=need)
        assert torch.isfinite(out.output).all()
        assert (out.output[1, 2] == 0).all()


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 5, 7, 6), (3, 17, 4, 9)])
def test_lean_additive_equals_plain_forward_and_backward(shape):
    B, T, S, A = shape
    g = torch.Generator().manual_seed(1)
    args = [torch.randn(B, T, A, generator=g), torch.randn(B, S, A, generator=g), torch.randn(A, generator=g)]
    plain_args = [a.clone().requires_grad_() for a in args]
    lean_args = [a.clone().requires_grad_() for a in args]
    upstream = torch.randn(B, T, S, generator=g)
    plain = additive_scores(*plain_args)
    lean = additive_scores_lean(*lean_args, budget=B * S * A * 2)  # forces several chunks
    torch.testing.assert_close(lean, plain, rtol=1e-5, atol=1e-5)
    (plain * upstream).sum().backward()
    (lean * upstream).sum().backward()
    for a, b in zip(lean_args, plain_args, strict=True):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-4)


def test_lean_additive_gradcheck_float64():
    g = torch.Generator().manual_seed(2)
    args = (
        torch.randn(2, 5, 3, generator=g, dtype=torch.float64, requires_grad=True),
        torch.randn(2, 4, 3, generator=g, dtype=torch.float64, requires_grad=True),
        torch.randn(3, generator=g, dtype=torch.float64, requires_grad=True),
    )
    assert torch.autograd.gradcheck(lambda q, k, v: additive_scores_lean(q, k, v, budget=20), args)
