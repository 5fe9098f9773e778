"""masked_softmax: the softmax of the unmasked scores, exact zeros elsewhere, on every path it takes
(short last dimensions go through a transposed copy on the CPU)."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnkit.attention import masked_softmax


def _reference(scores: torch.Tensor, mask: torch.Tensor | None, dim: int) -> torch.Tensor:
    """Softmax over the unmasked entries in float64; rows with nothing unmasked are zero."""
    x = scores.double()
    if mask is not None:
        x = x.masked_fill(~mask, float("-inf"))
    return torch.softmax(x, dim).nan_to_num(0.0)


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 40), keys=st.integers(1, 40), masked=st.booleans(), seed=st.integers(0, 2**16))
def test_matches_the_reference_on_short_and_long_rows(rows, keys, masked, seed):
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(2, rows, keys, generator=g) * 4
    mask = torch.rand(2, rows, keys, generator=g) < 0.7 if masked else None
    out = masked_softmax(scores, mask)
    assert out.shape == scores.shape
    torch.testing.assert_close(out.double(), _reference(scores, mask, -1), atol=1e-6, rtol=1e-5)
    if mask is not None:
        assert bool((out[~mask] == 0).all())


@pytest.mark.parametrize("keys", [1, 3, 15, 16, 31])
@pytest.mark.parametrize("dim", [-1, 1])
def test_gradient_matches_torch_softmax(keys, dim):
    scores = torch.randn(6, keys, 5, dtype=torch.float32) if dim == 1 else torch.randn(6, 5, keys)
    a, b = scores.clone().requires_grad_(), scores.clone().requires_grad_()
    upstream = torch.randn(scores.shape)
    (masked_softmax(a, dim=dim) * upstream).sum().backward()
    (torch.softmax(b, dim) * upstream).sum().backward()
    torch.testing.assert_close(a.grad, b.grad, atol=1e-6, rtol=1e-5)


def test_fully_masked_row_is_zero_without_nan():
    scores = torch.randn(3, 4, requires_grad=True)  # 4 keys: the short-row path
    mask = torch.tensor([[True, False, True, False], [False] * 4, [True] * 4])
    out = masked_softmax(scores, mask)
    assert bool((out[1] == 0).all()) and torch.allclose(out.sum(-1), torch.tensor([1.0, 0.0, 1.0]))
    out.sum().backward()
    assert bool(torch.isfinite(scores.grad).all())
