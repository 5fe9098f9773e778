"""Reading what a stack of self-attention layers does as a whole.

Attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers", section 3):
with the residual connection modelled as an identity, each layer's attention becomes
``A_l = 0.5 W_l + 0.5 I`` (rows renormalised), and the attention of the top layer to the input tokens is
the product ``rollout_L = A_L @ A_{L-1} @ ... @ A_1`` (``rollout_l = A_l @ rollout_{l-1}``).
Row ``i`` of the result says how much position ``i`` at the top draws on input position ``j``.

Legend: B batch, L layers, H heads, S sequence length.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["HEAD_FUSIONS", "attention_rollout"]

HEAD_FUSIONS = ("mean", "max", "min")


def _fuse_heads(weights: Tensor, head_fusion: str) -> Tensor:
    if head_fusion == "mean":
        return weights.mean(-3)  # [B, L, S, S]
    if head_fusion == "max":
        return weights.amax(-3)
    if head_fusion == "min":
        return weights.amin(-3)
    raise ValueError(f"unknown head_fusion {head_fusion!r}; choose one of {', '.join(HEAD_FUSIONS)}")


def _check(weights: Tensor, mask: Tensor | None) -> None:
    if weights.dim() not in (4, 5) or weights.size(-1) != weights.size(-2):
        raise ValueError(f"weights must be [L, H, S, S] or [B, L, H, S, S], got {list(weights.shape)}")
    if mask is None:
        return
    if mask.dtype != torch.bool:
        raise ValueError(f"mask must be boolean (True = real position), got dtype {mask.dtype}")
    expected = [weights.size(0), weights.size(-1)] if weights.dim() == 5 else [weights.size(-1)]
    if list(mask.shape) != expected:
        layout = "[B, S]" if weights.dim() == 5 else "[S]"
        raise ValueError(f"mask must be {layout}={expected} for weights {list(weights.shape)}, got {list(mask.shape)}")


def attention_rollout(
    weights: Tensor,
    *,
    residual: bool = True,
    head_fusion: str = "mean",
    mask: Tensor | None = None,
) -> Tensor:
    """Attention rollout of per-layer self-attention (Abnar & Zuidema 2020, section 3).

    Args:
        weights: self-attention of each layer, bottom layer first, per head.
        residual: model the residual connection, ``A = 0.5 W + 0.5 I`` (the paper's choice); without it
            the rollout is the plain product of the (head-fused, renormalised) weights.
        head_fusion: how heads become one matrix per layer: ``mean`` (the paper), ``max`` or ``min``.
        mask: ``True`` = real position. Padded keys get weight 0 and padded rows are all zeros, so real
            positions are unaffected by whatever the padded rows and columns of ``weights`` hold.

    Shapes:
        weights ``[L, H, S, S]`` or ``[B, L, H, S, S]``, mask ``[S]`` or ``[B, S]`` -> ``[S, S]`` or
        ``[B, S, S]``. Rows of real positions sum to 1 (a row can only be 0 if, without ``residual``,
        the fused weights give it nothing, as ``min`` fusion may).
    """
    _check(weights, mask)
    batched = weights.dim() == 5
    if not batched:
        weights = weights[None]  # [1, L, H, S, S]
        mask = None if mask is None else mask[None]
    L, S = weights.size(1), weights.size(-1)
    attn = _fuse_heads(weights, head_fusion)  # [B, L, S, S]
    eye = torch.eye(S, dtype=attn.dtype, device=attn.device)  # [S, S]
    if mask is not None:
        # Keep only real rows and columns; a padded token's own attention must not leak into the product.
        pair = (mask[:, :, None] & mask[:, None, :]).to(attn.dtype)  # [B, S, S]
        attn = attn * pair[:, None]  # [B, L, S, S]
        eye = eye * pair  # [B, S, S]
    if residual:
        attn = 0.5 * attn + 0.5 * (eye[:, None] if eye.dim() == 3 else eye)  # [B, L, S, S]
    # max/min fusion and dropped padded keys leave rows that no longer sum to 1.
    attn = attn / attn.sum(-1, keepdim=True).clamp(min=torch.finfo(attn.dtype).tiny)
    rollout = attn[:, 0]  # [B, S, S]
    for layer in range(1, L):
        rollout = attn[:, layer] @ rollout  # [B, S, S]
    return rollout if batched else rollout[0]
