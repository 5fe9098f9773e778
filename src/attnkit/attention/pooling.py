"""Attention pooling: a sequence to one vector with a learned query.

Yang et al. (2016), "Hierarchical Attention Networks", eqs. 5-7 (words) and 8-10 (sentences):
``u_i = tanh(W h_i + b)``, ``alpha_i = softmax(u_i . u_w)``, ``s = sum_i alpha_i h_i``.

Legend: B batch, S sequence length, D feature dim.
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor, nn

from attnkit.attention.functional import masked_softmax
from attnkit.attention.scores import LearnedQueryScore

__all__ = ["AttentionPooling", "PoolingOutput"]


class PoolingOutput(NamedTuple):
    context: Tensor  # [B, D]
    attn_weights: Tensor  # [B, S]


class AttentionPooling(nn.Module):
    """Pool ``[B, S, D]`` to ``[B, D]`` with HAN's learned context vector ``u_w``.

    Shapes:
        x ``[B, S, D]``, mask ``[B, S]`` (True = real position) -> context ``[B, D]``, attn_weights ``[B, S]``.
        A sequence with no real position pools to zeros.
    """

    def __init__(self, input_dim: int, hidden_dim: int | None = None) -> None:
        super().__init__()
        self.input_dim = input_dim
        self.score = LearnedQueryScore(input_dim, input_dim, hidden_dim or input_dim)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> PoolingOutput:
        if x.dim() != 3 or x.size(-1) != self.input_dim:
            raise ValueError(f"x must be [B, S, {self.input_dim}], got {list(x.shape)}")
        if mask is not None and mask.shape != x.shape[:2]:
            raise ValueError(f"mask must be {list(x.shape[:2])}, got {list(mask.shape)}")
        scores = self.score(None, self.score.project_keys(x)).squeeze(1)  # [B, S]
        weights = masked_softmax(scores, mask)  # [B, S]
        return PoolingOutput((weights[:, :, None] * x).sum(1), weights)  # [B, D]
