"""Multi-head attention (Vaswani et al. 2017, section 3.2.2).

``MultiHead(Q, K, V) = Concat(head_1..head_h) W^O`` with ``head_i = softmax(Q W_i^Q (K W_i^K)^T /
sqrt(d_k)) V W_i^V``. Numerically equal to ``torch.nn.MultiheadAttention`` given the same weights
(:meth:`MultiHeadAttention.load_torch_weights`); uses ``F.scaled_dot_product_attention`` when no
weights are asked for, and an explicit path that returns them otherwise. The projections are separate
``nn.Linear`` modules (so checkpoints name them), but self-attention computes q, k and v as one product
of their stacked weights, and keys/values of one memory as one product of k and v.

Legend: B batch, T queries, S keys, D model dim, H heads, Dh head dim.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attnkit.attention.dropout import dropout
from attnkit.attention.functional import broadcast_mask, check_qkv, masked_softmax

__all__ = ["MultiHeadAttention", "MultiHeadOutput"]

_NAIVE_BMM = 400  # aten's CPU bmm takes its element-by-element loop below this many multiply-adds a matrix


class MultiHeadOutput(NamedTuple):
    output: Tensor  # [B, T, D]
    attn_weights: Tensor | None  # [B, T, S] averaged, [B, H, T, S] per head, or None


class MultiHeadAttention(nn.Module):
    """Batch-first multi-head attention.

    Args:
        embed_dim: ``D``, the query and output size.
        num_heads: ``H``; ``D`` must be divisible by it.
        dropout: dropout on the attention weights while training.
        bias: biases on the four projections.
        kdim, vdim: key/value input sizes (default ``D``).

    Shapes:
        query ``[B, T, D]``, key ``[B, S, kdim]``, value ``[B, S, vdim]``, mask ``[B, S]`` (key padding) or
        ``[B or 1, T, S]`` (True = may attend) -> output ``[B, T, D]``; attn_weights as :class:`MultiHeadOutput`.
        Queries with nothing to attend produce a zero context (before the output projection).
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        *,
        dropout: float = 0.0,
        bias: bool = True,
        kdim: int | None = None,
        vdim: int | None = None,
    ) -> None:
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim={embed_dim} is not divisible by num_heads={num_heads}")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.dropout = dropout
        self.q_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = nn.Linear(kdim or embed_dim, embed_dim, bias=bias)
        self.v_proj = nn.Linear(vdim or embed_dim, embed_dim, bias=bias)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self._stack_cache: dict[int, tuple] = {}  # see _stacked; not state: rebuilt from the projections
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        for proj in (self.q_proj, self.k_proj, self.v_proj):
            nn.init.xavier_uniform_(proj.weight)
            if proj.bias is not None:
                nn.init.zeros_(proj.bias)
        if self.out_proj.bias is not None:
            nn.init.zeros_(self.out_proj.bias)

    @torch.no_grad()
    def load_torch_weights(self, mha: nn.MultiheadAttention) -> MultiHeadAttention:
        """Copy the parameters of a ``torch.nn.MultiheadAttention`` (packed or separate projections)."""
        if mha.embed_dim != self.embed_dim or mha.num_heads != self.num_heads:
            raise ValueError(
                f"torch module has embed_dim={mha.embed_dim}, num_heads={mha.num_heads}; "
                f"this one {self.embed_dim}, {self.num_heads}"
            )
        if mha.in_proj_weight is not None:
            for proj, w in zip((self.q_proj, self.k_proj, self.v_proj), mha.in_proj_weight.chunk(3), strict=True):
                proj.weight.copy_(w)
        else:
            self.q_proj.weight.copy_(mha.q_proj_weight)
            self.k_proj.weight.copy_(mha.k_proj_weight)
            self.v_proj.weight.copy_(mha.v_proj_weight)
        if mha.in_proj_bias is not None:
            for proj, b in zip((self.q_proj, self.k_proj, self.v_proj), mha.in_proj_bias.chunk(3), strict=True):
                proj.bias.copy_(b)
        self.out_proj.load_state_dict(mha.out_proj.state_dict())
        return self

    def _split(self, x: Tensor) -> Tensor:
        B, L, _ = x.shape
        return x.view(B, L, self.num_heads, self.head_dim).transpose(1, 2)  # [B, H, L, Dh]

    def _fused(self, x: Tensor, projections: tuple[nn.Linear, ...]) -> tuple[Tensor, ...]:
        """``x`` through several projections as one product (their weights stacked), per head ``[B, H, L, Dh]``
        each: one ``[BL, D] x [D, kD]`` product costs 0.75x (k = 3) to 0.85x (k = 2) of k ``[BL, D] x [D, D]``
        ones on the CPU (704 rows, 2 threads), and its backward likewise."""
        weight, bias = self._stacked(projections)
        return tuple(self._split(y) for y in F.linear(x, weight, bias).split(self.embed_dim, -1))

    def _stacked(self, projections: tuple[nn.Linear, ...]) -> tuple[Tensor, Tensor | None]:
        """The projections' weights ``[kD, D]`` and biases ``[kD]`` stacked. Stacked anew whenever autograd
        records (the gradients flow back through the stacking to each projection); without it (decoding),
        kept until a projection's parameters are replaced, moved or changed in place (identity, storage, version)."""
        params = [p for proj in projections for p in (proj.weight, proj.bias) if p is not None]
        if torch.is_grad_enabled() and any(p.requires_grad for p in params):
            return self._stack(projections)
        key = tuple((id(p), p.data_ptr(), p._version) for p in params)
        cached = self._stack_cache.get(len(projections))
        if cached is None or cached[0] != key:
            with torch.no_grad():
                cached = self._stack_cache[len(projections)] = (key, self._stack(projections))
        return cached[1]

    @staticmethod
    def _stack(projections: tuple[nn.Linear, ...]) -> tuple[Tensor, Tensor | None]:
        weight = torch.cat([proj.weight for proj in projections])
        bias = None if projections[0].bias is None else torch.cat([proj.bias for proj in projections])
        return weight, bias

    def project_kv(self, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor]:
        """Per-head keys and values ``[B, H, S, Dh]``: computed once per source for cross-attention,
        or appended step by step to a decoder's self-attention cache."""
        if key.dim() != 3 or value.dim() != 3 or key.shape[:2] != value.shape[:2]:
            raise ValueError(f"key and value must be [B, S, *] with equal [B, S]; got {list(key.shape)}, "
                             f"{list(value.shape)}")
        if key is value and self.k_proj.in_features == self.v_proj.in_features:
            return self._fused(key, (self.k_proj, self.v_proj))
        return self._split(self.k_proj(key)), self._split(self.v_proj(value))

    def project_qkv(self, x: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """Self-attention's per-head queries and keys/values of ``x [B, L, D]`` (``[B, H, L, Dh]`` each)."""
        if self.k_proj.in_features != self.embed_dim or self.v_proj.in_features != self.embed_dim:
            return self._split(self.q_proj(x)), self.project_kv(x, x)
        q, k, v = self._fused(x, (self.q_proj, self.k_proj, self.v_proj))
        return q, (k, v)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        mask: Tensor | None = None,
        *,
        need_weights: bool = False,
        average_weights: bool = True,
    ) -> MultiHeadOutput:
        check_qkv(query, key, value)
        if query is key and key is value:  # self-attention: the three projections as one product
            q, kv = self.project_qkv(query)
            return self.attend_heads(q, kv, mask, need_weights=need_weights, average_weights=average_weights)
        return self.attend(query, self.project_kv(key, value), mask, need_weights=need_weights,
                           average_weights=average_weights)

    def attend(
        self,
        query: Tensor,
        kv: tuple[Tensor, Tensor],
        mask: Tensor | None = None,
        *,
        need_weights: bool = False,
        average_weights: bool = True,
    ) -> MultiHeadOutput:
        """Attention of ``query [B, T, D]`` over projected ``kv`` (from :meth:`project_kv` or a cache)."""
        if query.dim() != 3 or query.size(-1) != self.embed_dim:
            raise ValueError(f"query must be [B, T, embed_dim={self.embed_dim}], got {list(query.shape)}")
        return self.attend_heads(self._split(self.q_proj(query)), kv, mask, need_weights=need_weights,
                                 average_weights=average_weights)

    def attend_heads(
        self,
        q: Tensor,
        kv: tuple[Tensor, Tensor],
        mask: Tensor | None = None,
        *,
        need_weights: bool = False,
        average_weights: bool = True,
    ) -> MultiHeadOutput:
        """:meth:`attend` for queries already projected and split, ``q [B, H, T, Dh]`` (as from
        :meth:`project_qkv`)."""
        k, v = kv
        B, T, S = q.size(0), q.size(2), k.size(2)
        mask = broadcast_mask(mask, B, T, S)
        if need_weights:
            context, weights = self._attend_explicit(q, k, v, mask)
            if average_weights:
                weights = weights.mean(1)  # [B, T, S]
        else:
            context, weights = self._attend_fused(q, k, v, mask), None
        context = context.transpose(1, 2).reshape(B, T, self.embed_dim)  # [B, T, D]
        return MultiHeadOutput(self.out_proj(context), weights)

    def _attend_explicit(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
        # On the CPU, torch's batched product multiplies element by element, one matrix at a time, when a
        # matrix product has fewer than 400 multiply-adds (T * S * Dh): the case of a decoding step's
        # self-attention (one query over the t < 13 keys so far, Dh = 32). Broadcast products summed
        # compute the same thing vectorised: 35-207 us against 222-1,052 us for [320 x 4 x 1 x t] @
        # [320 x 4 x t x 32], t = 1-12, one thread.
        # One query over 13-15 keys is past that threshold but still slow in the batched product (3.9 ms
        # against 0.57 ms at t = 13, 320 rows, one thread); from 16 keys on the product is the faster.
        T, S = q.size(-2), k.size(-2)
        tiny = q.device.type == "cpu" and (T * S * self.head_dim < _NAIVE_BMM or (T == 1 and S < 16))
        q = q / math.sqrt(self.head_dim)
        scores = (q.unsqueeze(-2) * k.unsqueeze(-3)).sum(-1) if tiny else q @ k.transpose(-2, -1)  # [B, H, T, S]
        weights = masked_softmax(scores, None if mask is None else mask[:, None])  # [B, H, T, S]
        if self.training and self.dropout > 0:
            weights = dropout(weights, self.dropout)
        if tiny:
            return (weights.unsqueeze(-1) * v.unsqueeze(-3)).sum(-2), weights  # [B, H, T, Dh]
        return weights @ v, weights  # [B, H, T, Dh]

    def _attend_fused(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> Tensor:
        if self.training and self.dropout > 0 and q.device.type == "cpu":
            # SDPA on the CPU drops attention weights in its unfused math path with bernoulli_ masks:
            # the explicit path with the cheaper dropout computes the same thing faster.
            return self._attend_explicit(q, k, v, mask)[0]
        if mask is None:
            return F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        # SDPA returns NaN for a query with no key; open such rows, then zero their output.
        empty = ~mask.any(-1, keepdim=True)  # [B, T, 1]
        attn_mask = (mask | empty)[:, None]  # [B, 1, T, S]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask,
                                             dropout_p=self.dropout if self.training else 0.0)
        return out.masked_fill(empty[:, None], 0.0)  # [B, H, T, Dh]
