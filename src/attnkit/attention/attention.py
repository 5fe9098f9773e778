"""The one attention module: score, normalise, weight the values.

``weights = normalize(score(query, keys), mask)`` and ``context = weights @ values``
(Bahdanau et al. 2015, eqs. 5-6; Luong et al. 2015, eqs. 7-8).

Legend: B batch, T queries, S keys, Dq/Dk/Dv query/key/value dims.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from torch import Tensor, nn

from attnkit.attention.functional import checked_mask, masked_softmax, sparsemax
from attnkit.attention.scores import Score, build_score

__all__ = ["NORMALIZERS", "Attention", "AttentionOutput"]


class AttentionOutput(NamedTuple):
    """What every attention returns: the context vectors and the weights that made them."""

    context: Tensor  # [B, T, Dv]
    attn_weights: Tensor  # [B, T, S]


NORMALIZERS: dict[str, Callable[[Tensor, Tensor | None], Tensor]] = {
    "softmax": masked_softmax,
    "sparsemax": sparsemax,
}


class Attention(nn.Module):
    """Soft attention with a pluggable score and normaliser.

    Args:
        score: ``dot``, ``scaled_dot``, ``general``/``bilinear``, ``concat``, ``additive``.
        query_dim, key_dim: sizes of queries and keys.
        hidden_dim: the ``A`` of the ``v . tanh(...)`` scores (defaults to ``key_dim``).
        normalizer: ``softmax`` or ``sparsemax``.
        memory_efficient: compute ``tanh`` scores for many queries in chunks (same result, less memory).

    Shapes:
        query ``[B, T, Dq]`` (``T = 1`` for one decoder step), key ``[B, S, Dk]``, value ``[B, S, Dv]``,
        mask ``[B, S]`` (key padding) or ``[B or 1, T, S]`` (True = may attend)
        -> context ``[B, T, Dv]``, attn_weights ``[B, T, S]``.
    """

    def __init__(
        self,
        score: str | Score,
        query_dim: int,
        key_dim: int,
        hidden_dim: int | None = None,
        *,
        normalizer: str = "softmax",
        memory_efficient: bool = True,
    ) -> None:
        super().__init__()
        if normalizer not in NORMALIZERS:
            raise ValueError(f"unknown normalizer {normalizer!r}; choose one of {', '.join(NORMALIZERS)}")
        self.score = (
            score if isinstance(score, Score)
            else build_score(score, query_dim, key_dim, hidden_dim, memory_efficient=memory_efficient)
        )
        self.query_dim, self.key_dim = query_dim, key_dim
        self.normalizer = normalizer

    def project_keys(self, key: Tensor) -> Tensor:
        """Precompute the key side once per source; pass the result as ``projected_keys``."""
        return self.score.project_keys(key)

    def scores(self, query: Tensor, key: Tensor, projected_keys: Tensor | None = None) -> Tensor:
        """Unnormalised scores ``[B, T, S]``."""
        if query.size(-1) != self.query_dim:
            raise ValueError(f"query last dim must be query_dim={self.query_dim}, got {list(query.shape)}")
        if key.size(-1) != self.key_dim:
            raise ValueError(f"key last dim must be key_dim={self.key_dim}, got {list(key.shape)}")
        pk = self.project_keys(key) if projected_keys is None else projected_keys
        if pk.shape[:2] != key.shape[:2]:
            raise ValueError(f"projected_keys {list(pk.shape)} do not match key {list(key.shape)} in [B, S]")
        return self.score(query, pk)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        mask: Tensor | None = None,
        *,
        projected_keys: Tensor | None = None,
    ) -> AttentionOutput:
        mask = checked_mask(query, key, value, mask)  # [B, T, S] or None
        weights = NORMALIZERS[self.normalizer](self.scores(query, key, projected_keys), mask)  # [B, T, S]
        return AttentionOutput(weights @ value, weights)  # [B, T, Dv], [B, T, S]
