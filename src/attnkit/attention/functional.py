"""Stateless attention building blocks: masks, normalisers and the memory-lean additive kernel.

Everything here is a function of tensors; the modules in this package compose them.

Legend: B batch, T queries (target steps), S keys (source positions), D model dim,
A attention hidden dim, H heads.

Masks are boolean and ``True`` means *may attend* (as in ``F.scaled_dot_product_attention``).
"""

from __future__ import annotations

import math
import os

import torch
from torch import Tensor

__all__ = [
    "additive_scores",
    "additive_scores_lean",
    "broadcast_mask",
    "causal_mask",
    "check_qkv",
    "checked_mask",
    "key_padding_mask",
    "masked_softmax",
    "sparsemax",
]


# --------------------------------------------------------------------------- shape checks
def _shape(t: Tensor) -> str:
    return "[" + ", ".join(str(s) for s in t.shape) + "]"


def check_qkv(query: Tensor, key: Tensor, value: Tensor | None = None) -> None:
    """Raise a ``ValueError`` naming the argument when query/key/value shapes disagree.

    Shapes:
        query ``[B, T, Dq]``, key ``[B, S, Dk]``, value ``[B, S, Dv]``.
    """
    if query.dim() != 3:
        raise ValueError(f"query must be [B, T, Dq], got {_shape(query)}")
    if key.dim() != 3:
        raise ValueError(f"key must be [B, S, Dk], got {_shape(key)}")
    if key.size(0) != query.size(0):
        raise ValueError(f"batch sizes differ: query {_shape(query)} vs key {_shape(key)}")
    if value is not None:
        if value.dim() != 3:
            raise ValueError(f"value must be [B, S, Dv], got {_shape(value)}")
        if value.shape[:2] != key.shape[:2]:
            raise ValueError(f"key and value must share [B, S]: key {_shape(key)} vs value {_shape(value)}")


def broadcast_mask(mask: Tensor | None, batch: int, queries: int, keys: int) -> Tensor | None:
    """Bring a boolean mask to ``[B, T, S]`` (a view where possible).

    A 2-D mask is always a key-padding mask ``[B, S]``; a per-query mask (e.g. causal) is 3-D,
    ``[B, T, S]`` or ``[1, T, S]`` (as :func:`causal_mask` returns), so the two can never be confused
    when ``B == T``.
    """
    if mask is None:
        return None
    if mask.dtype != torch.bool:
        raise ValueError(f"mask must be boolean (True = may attend), got dtype {mask.dtype}")
    if mask.dim() == 2 and mask.shape == (batch, keys):
        return mask[:, None, :].expand(batch, queries, keys)  # [B, T, S]
    if mask.dim() == 3 and mask.shape[1:] == (queries, keys) and mask.size(0) in (1, batch):
        return mask.expand(batch, queries, keys)
    raise ValueError(
        f"mask {_shape(mask)} fits neither a key-padding mask [B, S]=[{batch}, {keys}] nor a "
        f"per-query mask [B or 1, T, S]=[{batch}, {queries}, {keys}]"
    )


def checked_mask(query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None) -> Tensor | None:
    """The prelude of every ``(query, key, value, mask)`` call: check the shapes, bring the mask to
    ``[B, T, S]``."""
    check_qkv(query, key, value)
    return broadcast_mask(mask, query.size(0), query.size(1), key.size(1))


def key_padding_mask(lengths: Tensor, max_len: int | None = None) -> Tensor:
    """``[B, S]`` boolean mask, True on the first ``lengths[b]`` positions."""
    max_len = int(lengths.max()) if max_len is None else max_len
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def causal_mask(queries: int, keys: int | None = None, *, device: torch.device | None = None) -> Tensor:
    """``[1, T, S]`` lower-triangular mask: query ``t`` may attend keys up to its own position.

    With ``S > T`` (cached decoding) the queries are the last ``T`` positions, so the diagonal is shifted.
    """
    keys = queries if keys is None else keys
    return torch.ones(1, queries, keys, dtype=torch.bool, device=device).tril(diagonal=keys - queries)


# --------------------------------------------------------------------------- normalisers
def masked_softmax(scores: Tensor, mask: Tensor | None = None, dim: int = -1) -> Tensor:
    """Softmax over ``dim`` that gives exactly 0 to masked positions and a zero row when all are masked.

    Masked scores are replaced by the dtype's most negative finite value (not ``-inf``), so a fully
    masked row softmaxes to a uniform row that the final multiplication zeroes: no NaN in the forward
    or the backward pass.
    """
    if mask is None:
        return _softmax(scores, dim)
    filled = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    return _softmax(filled, dim) * mask


_SCALAR_SOFTMAX = 16  # below this many entries, aten's CPU softmax over the last dimension is a scalar loop


def _softmax(x: Tensor, dim: int) -> Tensor:
    """``torch.softmax(x, dim)``. On the CPU, a softmax over a short last dimension (under 16 entries: a
    decoding step's self-attention over the keys so far) runs aten's scalar loop, 5-20x slower than the
    same rows normalised as the columns of a transposed copy, which is vectorised across rows; those are
    returned as a transposed view."""
    n = x.size(dim)
    if x.device.type != "cpu" or n >= _SCALAR_SOFTMAX or dim not in (-1, x.dim() - 1) or x.numel() == n:
        return torch.softmax(x, dim=dim)
    return torch.softmax(x.reshape(-1, n).t().contiguous(), dim=0).t().view(x.shape)


def sparsemax(scores: Tensor, mask: Tensor | None = None, dim: int = -1) -> Tensor:
    """Sparsemax (Martins & Astudillo 2016, eq. 2): the Euclidean projection onto the simplex.

    ``p = max(z - tau, 0)`` with ``tau`` chosen so that ``p`` sums to 1; many weights are exactly 0.
    Masked positions get 0; a fully masked row is all zeros.
    """
    z = scores.transpose(dim, -1)
    m = None if mask is None else mask.transpose(dim, -1)
    if m is not None:
        empty = ~m.any(-1, keepdim=True)
        z = z.masked_fill(~m, float("-inf")).masked_fill(empty, 0.0)
    z_sorted, _ = torch.sort(z, dim=-1, descending=True)
    k = torch.arange(1, z.size(-1) + 1, device=z.device, dtype=z.dtype)
    cumsum = z_sorted.cumsum(-1)
    support = (1 + k * z_sorted) > cumsum  # eq. 3: the first k(z) sorted entries
    k_z = support.sum(-1, keepdim=True).clamp(min=1)
    tau = (cumsum.gather(-1, k_z - 1) - 1) / k_z.to(z.dtype)
    p = torch.clamp(z - tau, min=0)
    if m is not None:
        p = p * m
    return p.transpose(dim, -1)


# --------------------------------------------------------------------------- additive scores
def additive_scores(query_proj: Tensor, key_proj: Tensor, v: Tensor) -> Tensor:
    """Plain additive scores ``e[b,t,s] = v . tanh(q'[b,t] + k'[b,s])`` (Bahdanau et al. 2015, eq. 6).

    Materialises the ``[B, T, S, A]`` tanh tensor; the reference for :func:`additive_scores_lean`.

    Shapes:
        query_proj ``[B, T, A]`` (``W q + b``), key_proj ``[B, S, A]`` (``U k``), v ``[A]`` -> ``[B, T, S]``.
    """
    hidden = torch.tanh(query_proj[:, :, None, :] + key_proj[:, None, :, :])  # [B, T, S, A]
    return hidden @ v  # [B, T, S]


def _chunk_rows(batch: int, keys: int, hidden: int, budget: int) -> int:
    """How many query rows fit one ``[B, Tc, S, A]`` working tensor of ``budget`` elements."""
    return max(1, budget // max(1, batch * keys * hidden))


class _LeanAdditive(torch.autograd.Function):
    """Additive scores computed in query chunks; the tanh is recomputed in backward, never stored.

    Peak extra memory is one ``[B, Tc, S, A]`` chunk instead of the full ``[B, T, S, A]`` tensor
    (plus the autograd copies the plain formula keeps alive for backward).
    """

    @staticmethod
    def forward(ctx, query_proj: Tensor, key_proj: Tensor, v: Tensor, budget: int) -> Tensor:
        B, T, A = query_proj.shape
        S = key_proj.size(1)
        rows = _chunk_rows(B, S, A, budget)
        out = query_proj.new_empty(B, T, S)
        for t0 in range(0, T, rows):
            chunk = torch.tanh(query_proj[:, t0 : t0 + rows, None, :] + key_proj[:, None, :, :])  # [B, Tc, S, A]
            out[:, t0 : t0 + rows] = chunk @ v  # [B, Tc, S]
        ctx.save_for_backward(query_proj, key_proj, v)
        ctx.rows = rows
        return out

    @staticmethod
    def backward(ctx, grad_scores: Tensor):
        query_proj, key_proj, v = ctx.saved_tensors
        rows = ctx.rows
        grad_q = torch.empty_like(query_proj)
        grad_k = torch.zeros_like(key_proj)
        grad_v = torch.zeros_like(v)
        for t0 in range(0, query_proj.size(1), rows):
            g = grad_scores[:, t0 : t0 + rows]  # [B, Tc, S]
            h = torch.tanh(query_proj[:, t0 : t0 + rows, None, :] + key_proj[:, None, :, :])  # [B, Tc, S, A]
            grad_v += g.reshape(-1) @ h.reshape(-1, h.size(-1))  # sum over b, t, s of g * h
            # d tanh(x) / dx = 1 - tanh(x)^2, reusing h's storage for the pre-activation gradient.
            h.square_().neg_().add_(1.0).mul_(v).mul_(g[..., None])  # [B, Tc, S, A]
            grad_q[:, t0 : t0 + rows] = h.sum(2)
            grad_k += h.sum(1)
        return grad_q, grad_k, grad_v, None


def additive_scores_lean(
    query_proj: Tensor, key_proj: Tensor, v: Tensor, *, budget: int = 1 << 22
) -> Tensor:
    """Memory-lean :func:`additive_scores`: equal values and gradients, bounded working memory.

    ``budget`` is the number of elements of the largest ``[B, Tc, S, A]`` chunk (default 4M floats,
    16 MiB in float32); the chunk's query rows are derived from it. With ``ATTNKIT_TRITON=1`` in the
    environment, CUDA tensors go to the Triton kernel of :mod:`attnkit.attention.triton_additive` when Triton
    is installed (``budget`` unused: it holds no chunk), except under ``torch.use_deterministic_algorithms``
    (its grad_k uses atomics). Opt-in until its parity tests have run on a GPU (they run on the CPU
    through Triton's interpreter).

    Shapes:
        query_proj ``[B, T, A]``, key_proj ``[B, S, A]``, v ``[A]`` -> ``[B, T, S]``.
    """
    if query_proj.size(-1) != key_proj.size(-1) or v.shape != query_proj.shape[-1:]:
        raise ValueError(
            f"additive scores need query_proj [B, T, A], key_proj [B, S, A], v [A]; got "
            f"{_shape(query_proj)}, {_shape(key_proj)}, {_shape(v)}"
        )
    wants_triton = os.environ.get("ATTNKIT_TRITON") == "1" and not torch.are_deterministic_algorithms_enabled()
    if query_proj.is_cuda and wants_triton:
        # Imported here so that CPU use never pays for importing triton.
        from attnkit.attention.triton_additive import additive_scores_triton, triton_available

        if triton_available(query_proj):
            return additive_scores_triton(query_proj, key_proj, v)
    return _LeanAdditive.apply(query_proj, key_proj, v, budget)


def scaled(scores: Tensor, dim: int) -> Tensor:
    """Scale dot-product scores by ``1/sqrt(dim)`` (Vaswani et al. 2017, eq. 1)."""
    return scores / math.sqrt(dim)
