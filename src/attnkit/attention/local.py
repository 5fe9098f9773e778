"""Local attention (Luong et al. 2015, section 3.2): attend a window of ``2D + 1`` keys.

* ``monotonic`` (local-m): the window is centred on ``p_t = t`` (clipped to the source), eq. 7 weights.
* ``predictive`` (local-p): ``p_t = S_len * sigmoid(v_p^T tanh(W_p h_t))`` (eq. 9) and the in-window
  weights are multiplied by a Gaussian ``exp(-(s - p_t)^2 / (2 sigma^2))`` with ``sigma = D / 2``
  (eq. 10). As in the paper the Gaussian-weighted row is not renormalised, so it sums to <= 1.

Every key outside ``|s - p_t| <= D`` gets exactly zero weight. Scores are computed densely and then
masked, which is simple and fast for the source lengths of translation.

Legend: B batch, T queries, S keys, Dv value dim.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from attnkit.attention.attention import Attention
from attnkit.attention.functional import checked_mask, masked_softmax

__all__ = ["LOCAL_MODES", "LocalAttention", "LocalAttentionOutput"]

LOCAL_MODES = ("monotonic", "predictive")


class LocalAttentionOutput(NamedTuple):
    context: Tensor  # [B, T, Dv]
    attn_weights: Tensor  # [B, T, S]
    positions: Tensor  # [B, T] float, the window centres p_t


class LocalAttention(nn.Module):
    """Windowed attention around an aligned position.

    Args:
        score, query_dim, key_dim, hidden_dim: as :class:`~attnkit.attention.Attention`.
        window: ``D``; the window holds ``2D + 1`` keys.
        mode: ``monotonic`` (local-m) or ``predictive`` (local-p).

    Shapes:
        query ``[B, T, Dq]``, key ``[B, S, Dk]``, value ``[B, S, Dv]``, mask as ``Attention``,
        positions ``[B, T]`` or ``[T]`` (local-m only; default ``0..T-1``, e.g. the decoder step)
        -> :class:`LocalAttentionOutput`.
    """

    def __init__(
        self,
        score: str,
        query_dim: int,
        key_dim: int,
        hidden_dim: int | None = None,
        *,
        window: int = 5,
        mode: str = "predictive",
    ) -> None:
        super().__init__()
        if mode not in LOCAL_MODES:
            raise ValueError(f"unknown local attention mode {mode!r}; choose one of {', '.join(LOCAL_MODES)}")
        if window < 0:
            raise ValueError(f"window must be >= 0, got {window}")
        self.attention = Attention(score, query_dim, key_dim, hidden_dim)
        self.window, self.mode = window, mode
        if mode == "predictive":
            hidden = hidden_dim or query_dim
            self.W_p = nn.Linear(query_dim, hidden, bias=False)
            self.v_p = nn.Linear(hidden, 1, bias=False)

    def project_keys(self, key: Tensor) -> Tensor:
        return self.attention.project_keys(key)

    def _centres(self, query: Tensor, src_len: Tensor, positions: Tensor | None) -> Tensor:
        B, T = query.shape[:2]
        if self.mode == "predictive":
            return src_len[:, None] * torch.sigmoid(self.v_p(torch.tanh(self.W_p(query)))).squeeze(-1)  # [B, T]
        if positions is None:
            positions = torch.arange(T, device=query.device)
        positions = positions.to(query.dtype).expand(B, T)
        return torch.minimum(positions, (src_len - 1).clamp(min=0)[:, None])  # [B, T]

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        mask: Tensor | None = None,
        *,
        projected_keys: Tensor | None = None,
        positions: Tensor | None = None,
    ) -> LocalAttentionOutput:
        mask = checked_mask(query, key, value, mask)  # [B, T, S] or None
        B, S = query.size(0), key.size(1)
        if mask is None:
            src_len = torch.full((B,), float(S), device=query.device, dtype=query.dtype)
        else:
            src_len = mask.any(1).sum(-1).to(query.dtype)  # [B] keys any query may see
        p = self._centres(query, src_len, positions)  # [B, T]
        offset = torch.arange(S, device=query.device, dtype=query.dtype)[None, None, :] - p[..., None]  # [B, T, S]
        in_window = offset.abs() <= self.window
        window_mask = in_window if mask is None else in_window & mask
        weights = masked_softmax(self.attention.scores(query, key, projected_keys), window_mask)  # [B, T, S]
        if self.mode == "predictive":
            sigma = max(self.window / 2.0, 1e-6)
            weights = weights * torch.exp(-(offset**2) / (2 * sigma**2))
        return LocalAttentionOutput(weights @ value, weights, p)  # [B, T, Dv]
