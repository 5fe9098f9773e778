"""Additive (Bahdanau) attention scores as a Triton kernel, forward and backward, for the GPU.

``e[b,t,s] = v . tanh(q'[b,t] + k'[b,s])`` (Bahdanau et al. 2015, eq. 6) without ever holding the
``[B, T, S, A]`` tanh tensor: each forward program owns one ``[BLOCK_T, BLOCK_S]`` tile of scores and
walks A in blocks of ``BLOCK_A``; the backward recomputes the tanh tile by tile. The same contract as
:func:`attnkit.attention.functional.additive_scores_lean`, whose CUDA branch calls this module.

Legend: B batch, T queries (target steps), S keys (source positions), A attention hidden dim;
nT = ceil(T / BLOCK_T), nA = ceil(A / BLOCK_A).

How the backward reduces (``x = q' + k'``, ``h = tanh(x)``, ``g = dL/de``):
    grad_q[b,t,a] = sum_s g v[a] (1 - h^2)     one program per (T-block, A-block, b) loops over all of S,
                                               so it owns its grad_q tile: a plain store.
    grad_k[b,s,a] = sum_t g v[a] (1 - h^2)     **atomics**: each program adds its T-block's partial sum into
                                               a zeroed buffer. Only nT programs ever meet on one element, so
                                               contention is low, and a two-pass buffer would cost
                                               ``[B, nT, S, A]``, growing with T, which a memory-lean kernel
                                               should not. The price: float atomics add in no fixed order, so
                                               grad_k is not bit-reproducible (the caller in ``functional``
                                               falls back to PyTorch under ``torch.use_deterministic_algorithms``).
    grad_v[a]     = sum_{b,t,s} g h            **two-pass**: each program writes its ``[BLOCK_A]`` partial to a
                                               ``[B, nT, A]`` buffer that torch sums afterwards. That buffer is
                                               tiny, the result deterministic, and it spares the
                                               ``B * nT`` programs that would all hit the same A addresses.

Triton is optional: importing this module never fails; :func:`triton_available` says whether the kernel can
run. ``TRITON_INTERPRET=1`` (Triton's CPU interpreter, used by the tests) must be set before the first
``import triton`` anywhere in the process: Triton jits its own library (``tl.sum``, ``tl.sigmoid``, ...)
at import, in the mode the variable names then. This module's kernels are jitted on first use, per mode.
"""

from __future__ import annotations

import os

import torch
from torch import Tensor

try:  # Triton is an optional extra; a missing or broken install must leave the PyTorch path usable.
    import triton
    import triton.language as tl
except Exception:  # not only ImportError: a broken install can raise anything (e.g. a driver mismatch)
    triton = tl = None

__all__ = ["additive_scores_triton", "triton_available"]

# First guesses for an H100/H200-class GPU (a [32, 32, 8] fp32 tile is 8192 values, 64 per thread at 4 warps;
# the backward keeps about three such tiles alive, hence twice the warps); untuned, never timed on a GPU, so
# the blocks are arguments of additive_scores_triton for benchmarks/additive_gpu.py to try others.
BLOCK_T, BLOCK_S, BLOCK_A = 32, 32, 8
NUM_WARPS_FWD, NUM_WARPS_BWD = 4, 8


def _interpreting() -> bool:
    """Whether Triton's CPU interpreter is switched on (read the way Triton itself reads it) *and* usable:
    Triton's own library must have been jitted for it, i.e. the switch was on at ``import triton`` too."""
    knobs = getattr(triton, "knobs", None)
    if knobs is not None:  # triton >= 3.4 keeps its environment switches here
        switched_on = bool(knobs.runtime.interpret)
    else:
        switched_on = os.environ.get("TRITON_INTERPRET", "0").lower() in ("1", "true", "on", "yes")
    if not switched_on:
        return False
    try:
        from triton.runtime.interpreter import InterpretedFunction
    except ImportError:  # a layout we do not know: trust the switch
        return True
    return isinstance(tl.sigmoid, InterpretedFunction)


def triton_available(tensor: Tensor) -> bool:
    """True when the Triton kernel can run on ``tensor``: Triton imports and the tensor is on CUDA, or
    ``TRITON_INTERPRET=1`` is set, and was when triton was imported (the interpreter runs kernels on CPU
    tensors, slowly: for tests)."""
    if triton is None:
        return False
    return tensor.is_cuda or _interpreting()


# --------------------------------------------------------------------------- kernels
# Plain functions, handed to triton.jit on first use (see _kernels): jit reads TRITON_INTERPRET when it wraps.
# tanh is written as 2 sigmoid(2x) - 1: the interpreter has no libdevice, and one formula for both backends
# keeps the interpreter tests honest about the GPU path. Its absolute error is ~1 ulp of 1 near x = 0.


def _additive_fwd(
    q_ptr, k_ptr, v_ptr, out_ptr,
    T, S, A,
    sq_b, sq_t, sq_a, sk_b, sk_s, sk_a, sv_a, so_b, so_t, so_s,
    COMPUTE: tl.constexpr, BLOCK_T: tl.constexpr, BLOCK_S: tl.constexpr, BLOCK_A: tl.constexpr,
):
    """One ``[BLOCK_T, BLOCK_S]`` tile of scores; grid ``(nT, ceil(S / BLOCK_S), B)``."""
    b = tl.program_id(2).to(tl.int64)  # int64 so that b * stride cannot overflow on big batches
    t = tl.program_id(0) * BLOCK_T + tl.arange(0, BLOCK_T)  # [BT]
    s = tl.program_id(1) * BLOCK_S + tl.arange(0, BLOCK_S)  # [BS]
    t_ok = t < T
    s_ok = s < S
    acc = tl.zeros((BLOCK_T, BLOCK_S), dtype=COMPUTE)  # [BT, BS]
    for a0 in range(0, A, BLOCK_A):
        a = a0 + tl.arange(0, BLOCK_A)  # [BA]
        a_ok = a < A
        q = tl.load(q_ptr + b * sq_b + t[:, None] * sq_t + a[None, :] * sq_a,
                    mask=t_ok[:, None] & a_ok[None, :], other=0.0).to(COMPUTE)  # [BT, BA]
        k = tl.load(k_ptr + b * sk_b + s[:, None] * sk_s + a[None, :] * sk_a,
                    mask=s_ok[:, None] & a_ok[None, :], other=0.0).to(COMPUTE)  # [BS, BA]
        v = tl.load(v_ptr + a * sv_a, mask=a_ok, other=0.0).to(COMPUTE)  # [BA]; 0 past A voids padded lanes
        h = 2.0 * tl.sigmoid(2.0 * (q[:, None, :] + k[None, :, :])) - 1.0  # [BT, BS, BA]
        acc += tl.sum(h * v[None, None, :], axis=2)  # [BT, BS]
    tl.store(out_ptr + b * so_b + t[:, None] * so_t + s[None, :] * so_s, acc, mask=t_ok[:, None] & s_ok[None, :])


def _additive_bwd(
    q_ptr, k_ptr, v_ptr, g_ptr, gq_ptr, gk_ptr, gv_ptr,
    T, S, A, NT,
    sq_b, sq_t, sq_a, sk_b, sk_s, sk_a, sv_a, sg_b, sg_t, sg_s, sgq_b, sgq_t, sgq_a,
    COMPUTE: tl.constexpr, BLOCK_T: tl.constexpr, BLOCK_S: tl.constexpr, BLOCK_A: tl.constexpr,
):
    """grad_q for one ``[BLOCK_T, BLOCK_A]`` tile, its share of grad_k and grad_v; grid ``(nT, nA, B)``.

    ``gk_ptr`` is a zeroed contiguous ``[B, S, A]`` buffer in ``COMPUTE``; ``gv_ptr`` a ``[B, nT, A]`` one.
    """
    b = tl.program_id(2).to(tl.int64)
    pid_t = tl.program_id(0)
    t = pid_t * BLOCK_T + tl.arange(0, BLOCK_T)  # [BT]
    a = tl.program_id(1) * BLOCK_A + tl.arange(0, BLOCK_A)  # [BA]
    t_ok = t < T
    a_ok = a < A
    q = tl.load(q_ptr + b * sq_b + t[:, None] * sq_t + a[None, :] * sq_a,
                mask=t_ok[:, None] & a_ok[None, :], other=0.0).to(COMPUTE)  # [BT, BA]
    v = tl.load(v_ptr + a * sv_a, mask=a_ok, other=0.0).to(COMPUTE)  # [BA]
    gq = tl.zeros((BLOCK_T, BLOCK_A), dtype=COMPUTE)  # [BT, BA]
    gv = tl.zeros((BLOCK_A,), dtype=COMPUTE)  # [BA]
    for s0 in range(0, S, BLOCK_S):
        s = s0 + tl.arange(0, BLOCK_S)  # [BS]
        s_ok = s < S
        k = tl.load(k_ptr + b * sk_b + s[:, None] * sk_s + a[None, :] * sk_a,
                    mask=s_ok[:, None] & a_ok[None, :], other=0.0).to(COMPUTE)  # [BS, BA]
        # g is 0 outside [T, S], which zeroes every padded row and column of the products below.
        g = tl.load(g_ptr + b * sg_b + t[:, None] * sg_t + s[None, :] * sg_s,
                    mask=t_ok[:, None] & s_ok[None, :], other=0.0).to(COMPUTE)  # [BT, BS]
        h = 2.0 * tl.sigmoid(2.0 * (q[:, None, :] + k[None, :, :])) - 1.0  # [BT, BS, BA]
        gv += tl.sum(tl.sum(g[:, :, None] * h, axis=0), axis=0)  # [BA]
        dx = g[:, :, None] * (1.0 - h * h) * v[None, None, :]  # [BT, BS, BA]: dL/dx, tanh' = 1 - tanh^2
        gq += tl.sum(dx, axis=1)  # [BT, BA]
        tl.atomic_add(gk_ptr + b * S * A + s[:, None] * A + a[None, :], tl.sum(dx, axis=0),
                      mask=s_ok[:, None] & a_ok[None, :])  # [BS, BA] partial over this T-block
    tl.store(gq_ptr + b * sgq_b + t[:, None] * sgq_t + a[None, :] * sgq_a, gq, mask=t_ok[:, None] & a_ok[None, :])
    tl.store(gv_ptr + (b * NT + pid_t) * A + a, gv, mask=a_ok)


_KERNELS: dict[bool, tuple] = {}


def _kernels() -> tuple:
    """``(forward, backward)`` jitted for the current mode, compiled (CUDA) or interpreted (CPU)."""
    mode = _interpreting()
    if mode not in _KERNELS:
        _KERNELS[mode] = (triton.jit(_additive_fwd), triton.jit(_additive_bwd))
    return _KERNELS[mode]


def _compute_dtype(*tensors: Tensor):
    """fp64 inputs keep fp64; fp16/bf16/fp32 accumulate in fp32 (the tanh sum over A is where precision goes)."""
    return tl.float64 if any(x.dtype == torch.float64 for x in tensors) else tl.float32


# --------------------------------------------------------------------------- autograd
class _TritonAdditive(torch.autograd.Function):
    """Additive scores by the Triton kernels; saves only the inputs, recomputes tanh in backward."""

    @staticmethod
    def forward(ctx, query_proj: Tensor, key_proj: Tensor, v: Tensor, blocks: tuple[int, int, int]) -> Tensor:
        B, T, A = query_proj.shape
        S = key_proj.size(1)
        bt, bs, ba = blocks
        dtype = torch.promote_types(torch.promote_types(query_proj.dtype, key_proj.dtype), v.dtype)
        out = query_proj.new_empty(B, T, S, dtype=dtype)  # [B, T, S]
        if out.numel() > 0:  # a zero-sized grid is an error in Triton
            fwd, _ = _kernels()
            fwd[(triton.cdiv(T, bt), triton.cdiv(S, bs), B)](
                query_proj, key_proj, v, out, T, S, A,
                *query_proj.stride(), *key_proj.stride(), v.stride(0), *out.stride(),
                COMPUTE=_compute_dtype(query_proj, key_proj, v), BLOCK_T=bt, BLOCK_S=bs, BLOCK_A=ba,
                num_warps=NUM_WARPS_FWD,
            )
        ctx.save_for_backward(query_proj, key_proj, v)
        ctx.blocks = blocks
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_scores: Tensor):
        query_proj, key_proj, v = ctx.saved_tensors
        B, T, A = query_proj.shape
        S = key_proj.size(1)
        bt, bs, ba = ctx.blocks
        nt = triton.cdiv(T, bt)
        compute = _compute_dtype(query_proj, key_proj, v)
        acc_dtype = torch.float64 if compute == tl.float64 else torch.float32
        # The grid covers every (b, T-block, A-block), so grad_q and the grad_v partials are written whole
        # (as zeros when S == 0); only grad_k, the atomics' target, starts from zeros.
        grad_q = torch.empty_like(query_proj)  # [B, T, A]
        grad_k = key_proj.new_zeros(B, S, A, dtype=acc_dtype)  # [B, S, A]
        grad_v = v.new_empty(B, nt, A, dtype=acc_dtype)  # [B, nT, A] partials
        if grad_q.numel() > 0:  # a zero-sized grid is an error in Triton
            _, bwd = _kernels()
            # grad_scores may be an expanded view (strides 0, e.g. from .sum()): the strides handle it, no copy.
            bwd[(nt, triton.cdiv(A, ba), B)](
                query_proj, key_proj, v, grad_scores, grad_q, grad_k, grad_v, T, S, A, nt,
                *query_proj.stride(), *key_proj.stride(), v.stride(0), *grad_scores.stride(), *grad_q.stride(),
                COMPUTE=compute, BLOCK_T=bt, BLOCK_S=bs, BLOCK_A=ba, num_warps=NUM_WARPS_BWD,
            )
        return grad_q, grad_k.to(key_proj.dtype), grad_v.sum((0, 1)).to(v.dtype), None


def additive_scores_triton(
    query_proj: Tensor,
    key_proj: Tensor,
    v: Tensor,
    *,
    block_t: int = BLOCK_T,
    block_s: int = BLOCK_S,
    block_a: int = BLOCK_A,
) -> Tensor:
    """:func:`~attnkit.attention.functional.additive_scores` by a Triton kernel: equal values and gradients,
    no ``[B, T, S, A]`` tensor in either pass.

    Computes in fp32 (fp64 for fp64 inputs) and returns the inputs' promoted dtype. grad_k is accumulated
    with float atomics, so it may differ in the last bits from run to run (see the module docstring).

    Shapes:
        query_proj ``[B, T, A]`` (``W q + b``), key_proj ``[B, S, A]`` (``U k``), v ``[A]`` -> ``[B, T, S]``.
        Any strides; the blocks (powers of two) tile T, S and A.
    """
    if (query_proj.dim() != 3 or key_proj.dim() != 3 or query_proj.size(0) != key_proj.size(0)
            or query_proj.size(-1) != key_proj.size(-1) or v.shape != query_proj.shape[-1:]):
        raise ValueError(
            f"additive scores need query_proj [B, T, A], key_proj [B, S, A], v [A]; got "
            f"{list(query_proj.shape)}, {list(key_proj.shape)}, {list(v.shape)}"
        )
    if not (query_proj.device == key_proj.device == v.device):
        raise ValueError(f"inputs on different devices: {query_proj.device}, {key_proj.device}, {v.device}")
    for name, size in (("block_t", block_t), ("block_s", block_s), ("block_a", block_a)):
        if size < 1 or size & (size - 1):
            raise ValueError(f"{name} must be a power of two (tl.arange needs one), got {size}")
    if not triton_available(query_proj):
        raise RuntimeError(
            "the Triton additive kernel needs triton installed and CUDA tensors (or TRITON_INTERPRET=1 for "
            f"CPU tensors); got a {query_proj.device.type} tensor, triton {'missing' if triton is None else 'found'}"
        )
    return _TritonAdditive.apply(query_proj, key_proj, v, (block_t, block_s, block_a))
