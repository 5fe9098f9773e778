"""Attention rollout (Abnar & Zuidema 2020): properties and a plain re-derivation."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnkit.attention import attention_rollout

TOL = {"rtol": 1e-10, "atol": 1e-10}


def _weights(*shape, seed=0):
    """Row-stochastic random attention ``[..., S, S]`` in double precision."""
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(3 * torch.randn(*shape, generator=g, dtype=torch.float64), -1)


def _rollout_loops(weights, residual, head_fusion):
    """The formula written out with Python loops over ``[L, H, S, S]`` nested lists."""
    L, H, S = len(weights), len(weights[0]), len(weights[0][0])
    fuse = {"mean": lambda xs: sum(xs) / len(xs), "max": max, "min": min}[head_fusion]
    result = None
    for layer in range(L):
        a = [[fuse([weights[layer][h][i][j] for h in range(H)]) for j in range(S)] for i in range(S)]
        if residual:
            a = [[0.5 * a[i][j] + 0.5 * (i == j) for j in range(S)] for i in range(S)]
        a = [[x / sum(row) for x in row] for row in a]
        if result is None:
            result = a
        else:  # rollout_l = A_l @ rollout_{l-1}
            result = [[sum(a[i][k] * result[k][j] for k in range(S)) for j in range(S)] for i in range(S)]
    return torch.tensor(result, dtype=torch.float64)


@settings(deadline=None, max_examples=25)
@given(L=st.integers(1, 4), H=st.integers(1, 3), S=st.integers(1, 6), residual=st.booleans(),
       head_fusion=st.sampled_from(["mean", "max", "min"]), seed=st.integers(0, 2**16))
def test_rows_sum_to_one(L, H, S, residual, head_fusion, seed):
    out = attention_rollout(_weights(2, L, H, S, S, seed=seed), residual=residual, head_fusion=head_fusion)
    assert out.shape == (2, S, S) and (out >= 0).all()
    torch.testing.assert_close(out.sum(-1), torch.ones(2, S, dtype=torch.float64), **TOL)


@pytest.mark.parametrize("head_fusion", ["mean", "max", "min"])
@pytest.mark.parametrize("residual", [True, False])
def test_equals_loop_rederivation(residual, head_fusion):
    w = _weights(3, 2, 4, 4, seed=1)
    torch.testing.assert_close(attention_rollout(w, residual=residual, head_fusion=head_fusion),
                               _rollout_loops(w.tolist(), residual, head_fusion), **TOL)


def test_one_layer_without_residual_is_head_mean():
    w = _weights(1, 3, 5, 5, seed=2)
    torch.testing.assert_close(attention_rollout(w, residual=False), w[0].mean(0), **TOL)


def test_one_layer_with_residual_is_half_identity():
    w = _weights(1, 2, 4, 4, seed=3)
    torch.testing.assert_close(attention_rollout(w), 0.5 * w[0].mean(0) + 0.5 * torch.eye(4, dtype=w.dtype), **TOL)


@pytest.mark.parametrize("residual", [True, False])
def test_identity_attention_gives_identity(residual):
    w = torch.eye(5, dtype=torch.float64).expand(3, 2, 5, 5)
    torch.testing.assert_close(attention_rollout(w, residual=residual), torch.eye(5, dtype=torch.float64), **TOL)


def test_batched_equals_each_alone():
    w = _weights(3, 2, 2, 4, 4, seed=4)
    out = attention_rollout(w, head_fusion="max")
    for b in range(3):
        torch.testing.assert_close(out[b], attention_rollout(w[b], head_fusion="max"), **TOL)


@pytest.mark.parametrize("residual", [True, False])
def test_padding_is_unaffected_by_padded_content(residual):
    S, real = 6, 4
    w = _weights(2, 3, 2, S, S, seed=5)  # keys of padded positions carry weight: as if masking were missing
    mask = torch.tensor([[True] * real + [False] * (S - real), [True] * S])
    out = attention_rollout(w, residual=residual, mask=mask)
    garbage = w.clone()
    garbage[0, :, :, real:, :] = _weights(3, 2, S - real, S, seed=6)  # padded rows
    garbage[0, :, :, :, real:] *= 7.0  # padded columns
    torch.testing.assert_close(attention_rollout(garbage, residual=residual, mask=mask), out, **TOL)
    # The real block equals the rollout of the real positions alone (keys renormalised over them).
    alone = w[0, :, :, :real, :real]
    torch.testing.assert_close(out[0, :real, :real], attention_rollout(alone, residual=residual), **TOL)
    assert (out[0, real:] == 0).all() and (out[0, :, real:] == 0).all()
    torch.testing.assert_close(out[1], attention_rollout(w[1], residual=residual), **TOL)


def test_unbatched_mask():
    w = _weights(2, 2, 4, 4, seed=7)
    mask = torch.tensor([True, True, True, False])
    torch.testing.assert_close(attention_rollout(w, mask=mask)[:3, :3], attention_rollout(w[..., :3, :3]), **TOL)


@pytest.mark.parametrize(("shape", "mask_shape", "match"), [
    ((2, 4, 4), None, r"\[L, H, S, S\] or \[B, L, H, S, S\], got \[2, 4, 4\]"),
    ((1, 2, 3, 4, 4, 4), None, r"got \[1, 2, 3, 4, 4, 4\]"),
    ((2, 2, 4, 5), None, r"got \[2, 2, 4, 5\]"),
    ((2, 2, 4, 4), (2, 4), r"mask must be \[S\]=\[4\]"),
    ((3, 2, 2, 4, 4), (2, 4), r"mask must be \[B, S\]=\[3, 4\]"),
])
def test_bad_shapes_are_named(shape, mask_shape, match):
    mask = None if mask_shape is None else torch.ones(mask_shape, dtype=torch.bool)
    with pytest.raises(ValueError, match=match):
        attention_rollout(torch.rand(shape), mask=mask)


def test_bad_arguments():
    with pytest.raises(ValueError, match="head_fusion"):
        attention_rollout(_weights(1, 1, 3, 3), head_fusion="median")
    with pytest.raises(ValueError, match="boolean"):
        attention_rollout(_weights(1, 1, 3, 3), mask=torch.ones(3))
