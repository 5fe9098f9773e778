"""Bidirectional co-attention between two sequences.

The affinity ``L = X1 X2^T`` (Xiong et al. 2017, "Dynamic Coattention Networks", eq. 2; Lu et al.
2016 use the bilinear ``X1 W X2^T``) is normalised along each axis: row-wise, every position of the
first sequence attends over the second; column-wise, every position of the second attends over the
first. Both attention matrices are returned.

Legend: B batch, N first-sequence length, M second-sequence length, D1/D2 feature dims.
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor, nn

from attnkit.attention.functional import masked_softmax
from attnkit.attention.scores import Score, build_score

__all__ = ["CoAttention", "CoAttentionOutput"]


class CoAttentionOutput(NamedTuple):
    context1: Tensor  # [B, N, D2] the second sequence summarised for each position of the first
    context2: Tensor  # [B, M, D1] the first sequence summarised for each position of the second
    attn1: Tensor  # [B, N, M] rows sum to 1 over unmasked positions of the second sequence
    attn2: Tensor  # [B, M, N] rows sum to 1 over unmasked positions of the first sequence


class CoAttention(nn.Module):
    """Co-attention with a ``dot``, ``scaled_dot`` or ``general`` (bilinear) affinity.

    Shapes:
        x1 ``[B, N, D1]``, x2 ``[B, M, D2]``, mask1 ``[B, N]``, mask2 ``[B, M]`` (True = real position)
        -> :class:`CoAttentionOutput`. Rows of padded positions are all zero.
    """

    def __init__(self, dim1: int, dim2: int | None = None, *, score: str = "dot") -> None:
        super().__init__()
        if score not in ("dot", "scaled_dot", "general", "bilinear"):
            raise ValueError(f"co-attention score must be dot, scaled_dot or general, got {score!r}")
        self.score: Score = build_score(score, dim1, dim2 or dim1)

    def forward(
        self, x1: Tensor, x2: Tensor, mask1: Tensor | None = None, mask2: Tensor | None = None
    ) -> CoAttentionOutput:
        if x1.dim() != 3 or x2.dim() != 3 or x1.size(0) != x2.size(0):
            raise ValueError(f"x1 must be [B, N, D1] and x2 [B, M, D2]; got {list(x1.shape)} and {list(x2.shape)}")
        for name, m, x in (("mask1", mask1, x1), ("mask2", mask2, x2)):
            if m is not None and m.shape != x.shape[:2]:
                raise ValueError(f"{name} must be {list(x.shape[:2])}, got {list(m.shape)}")
        affinity = self.score(x1, self.score.project_keys(x2))  # [B, N, M]
        attn1 = masked_softmax(affinity, None if mask2 is None else mask2[:, None, :])  # [B, N, M]
        attn2 = masked_softmax(affinity.transpose(1, 2), None if mask1 is None else mask1[:, None, :])  # [B, M, N]
        if mask1 is not None:
            attn1 = attn1 * mask1[:, :, None]
        if mask2 is not None:
            attn2 = attn2 * mask2[:, :, None]
        return CoAttentionOutput(attn1 @ x2, attn2 @ x1, attn1, attn2)
