"""Additive (Bahdanau) scores on a CUDA GPU: the Triton kernel beside the PyTorch versions and a fused SDPA.

    python benchmarks/additive_gpu.py                         # both shapes, markdown table on stdout
    python benchmarks/additive_gpu.py --repeats 50 --out docs/benchmarks-additive-gpu.md
    python benchmarks/additive_gpu.py --blocks 16,64,8        # try other Triton tile sizes (T, S, A)
    python benchmarks/additive_gpu.py --dtype bfloat16

For ``e[b,t,s] = v . tanh(q'[b,t] + k'[b,s])`` with query_proj ``[B, T, A]``, key_proj ``[B, S, A]``, v ``[A]``:
the Triton kernel (:func:`attnkit.attention.triton_additive.additive_scores_triton`), the chunked PyTorch
path of :func:`~attnkit.attention.functional.additive_scores_lean` (called through its autograd Function,
since on CUDA the public function now dispatches to Triton), the plain broadcast
:func:`~attnkit.attention.functional.additive_scores`, and, as the cost of a fused dot-product kernel at the
same sizes, ``F.scaled_dot_product_attention`` on q ``[B, H, T, D/H]``, k = v ``[B, H, S, D/H]`` (a whole
attention, not only scores). Parity of the Triton kernel (values and the three gradients) is checked first.

Time: median over ``--repeats`` forward + backward passes after warm-up passes (which pay Triton's compile),
each bracketed by ``torch.cuda.synchronize``. Memory: ``torch.cuda.max_memory_allocated`` during one pass,
minus what was allocated before it (inputs, upstream gradient). A case that runs out of memory says so.
Without a CUDA GPU the script says it needs one and exits 0.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from attnkit.attention import functional
from attnkit.attention.functional import additive_scores
from common import print_table

# (B, T, S, A=D); the first is the shape of benchmarks/attention.py, the second where the plain broadcast
# tensor [B, T, S, A] reaches ~8 GiB in float32.
SHAPES = [(32, 200, 200, 256), (32, 512, 512, 256)]
# Odd sizes (partial tiles everywhere) and the first benchmark shape, where the plain formula still fits.
PARITY_SHAPES = [(2, 7, 13, 10), (4, 37, 53, 256), (32, 200, 200, 256)]
TOLERANCE = {torch.float32: (1e-4, 1e-4), torch.float16: (1e-2, 1e-2), torch.bfloat16: (5e-2, 5e-2)}


def _inputs(B, T, S, A, dtype, seed=0):
    gen = torch.Generator(device="cuda").manual_seed(seed)
    q = torch.randn(B, T, A, device="cuda", dtype=dtype, generator=gen).requires_grad_()  # [B, T, A]
    k = torch.randn(B, S, A, device="cuda", dtype=dtype, generator=gen).requires_grad_()  # [B, S, A]
    v = torch.randn(A, device="cuda", dtype=dtype, generator=gen).requires_grad_()  # [A]
    upstream = torch.randn(B, T, S, device="cuda", dtype=dtype, generator=gen)  # [B, T, S]
    return (q, k, v), upstream


def _variants(blocks):
    from attnkit.attention.triton_additive import additive_scores_triton

    bt, bs, ba = blocks
    return {
        f"Triton kernel (blocks {bt}x{bs}x{ba})":
            lambda q, k, v: additive_scores_triton(q, k, v, block_t=bt, block_s=bs, block_a=ba),
        # The chunked PyTorch path itself: additive_scores_lean would hand CUDA tensors to the Triton kernel.
        "PyTorch lean (chunked, recompute)": lambda q, k, v: functional._LeanAdditive.apply(q, k, v, 1 << 22),
        "PyTorch plain broadcast": additive_scores,
    }


def check_parity(blocks, dtype) -> None:
    """Values and the three gradients of the Triton kernel against the plain formula (in float32)."""
    triton_fn = next(iter(_variants(blocks).values()))
    rtol, atol = TOLERANCE[dtype]
    for shape in PARITY_SHAPES:
        inputs, upstream = _inputs(*shape, dtype, seed=1)
        out = triton_fn(*inputs)
        grads = torch.autograd.grad(out, inputs, upstream)
        wide = [x.detach().float().requires_grad_() for x in inputs]
        ref = additive_scores(*wide)
        ref_grads = torch.autograd.grad(ref, wide, upstream.float())
        names = ("scores", "grad_q", "grad_k", "grad_v")
        for name, got, want in zip(names, (out, *grads), (ref, *ref_grads), strict=True):
            # grad_v sums B*T*S terms: compare it relative to its own scale.
            scale = want.abs().max().clamp(min=1.0) if name == "grad_v" else 1.0
            torch.testing.assert_close(got.float() / scale, want / scale, rtol=rtol, atol=atol,
                                       msg=lambda m, n=name, s=shape: f"parity {n} at {s}: {m}")
        del inputs, upstream, out, grads, wide, ref, ref_grads
    torch.cuda.empty_cache()
    print(f"parity ok at B x T x S x A = {PARITY_SHAPES}", file=sys.stderr)


def _measure(step, warmup: int, repeats: int) -> tuple[float, float]:
    """``(median ms, peak extra MiB)`` of ``step()``, one forward + backward pass."""
    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    step()
    torch.cuda.synchronize()
    peak = (torch.cuda.max_memory_allocated() - base) / 2**20
    times = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        step()
        torch.cuda.synchronize()
        times.append(1000 * (time.perf_counter() - t0))
    return statistics.median(times), peak


def _additive_step(fn, inputs, upstream):
    def step():
        for x in inputs:
            x.grad = None
        fn(*inputs).backward(upstream)

    return step


def _sdpa_step(B, T, S, D, heads, dtype):
    gen = torch.Generator(device="cuda").manual_seed(0)
    q = torch.randn(B, heads, T, D // heads, device="cuda", dtype=dtype, generator=gen).requires_grad_()
    kv = torch.randn(B, heads, S, D // heads, device="cuda", dtype=dtype, generator=gen).requires_grad_()
    upstream = torch.randn(B, heads, T, D // heads, device="cuda", dtype=dtype, generator=gen)  # [B, H, T, Dh]

    def step():
        q.grad = kv.grad = None
        F.scaled_dot_product_attention(q, kv, kv).backward(upstream)  # [B, H, T, Dh]

    return step


def _run_case(make_step, warmup, repeats) -> tuple[str, str]:
    try:
        ms, peak = _measure(make_step(), warmup, repeats)
        return f"{ms:.2f}", f"{peak:.0f}"
    except torch.cuda.OutOfMemoryError:
        return "OOM", "OOM"
    finally:
        torch.cuda.empty_cache()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=20, help="timed forward+backward passes per case")
    ap.add_argument("--warmup", type=int, default=3, help="untimed passes first (Triton compiles in the first)")
    ap.add_argument("--blocks", default="32,32,8", help="Triton tile sizes BLOCK_T,BLOCK_S,BLOCK_A (powers of 2)")
    ap.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], default="float32")
    ap.add_argument("--sdpa-heads", type=int, default=1, help="heads H for the SDPA reference (D split in H)")
    ap.add_argument("--out", help="also write the table (markdown) to this file")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("benchmarks/additive_gpu.py needs a CUDA GPU (torch.cuda.is_available() is False); nothing to do.")
        return
    from attnkit.attention.triton_additive import triton_available

    if not triton_available(torch.zeros(1, device="cuda")):
        raise SystemExit("triton is not importable: pip install triton (see pyproject's optional extra)")
    import triton

    blocks = tuple(int(x) for x in args.blocks.split(","))
    dtype = getattr(torch, args.dtype)
    check_parity(blocks, dtype)

    rows = []
    for B, T, S, A in SHAPES:
        for name, fn in _variants(blocks).items():
            def make(fn=fn, shape=(B, T, S, A)):
                return _additive_step(fn, *_inputs(*shape, dtype))

            rows.append((name, (B, T, S, A), *_run_case(make, args.warmup, args.repeats)))
            print(f"  {rows[-1]}", file=sys.stderr)
        sdpa = f"SDPA reference (H={args.sdpa_heads}, whole attention)"
        rows.append((sdpa, (B, T, S, A),
                     *_run_case(lambda B=B, T=T, S=S, A=A: _sdpa_step(B, T, S, A, args.sdpa_heads, dtype),
                                args.warmup, args.repeats)))
        print(f"  {rows[-1]}", file=sys.stderr)

    lines = [
        f"machine: {torch.cuda.get_device_name()}, {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}, triton {triton.__version__}, {args.dtype}; time: median of {args.repeats} "
        f"forward+backward passes after {args.warmup} warm-up; memory: peak CUDA allocation during one pass "
        f"above the inputs",
        "",
        "| variant | B x T x S x A(=D) | time (ms) | peak extra CUDA memory (MiB) |",
        "|---|---|---:|---:|",
    ]
    for name, (B, T, S, A), ms, peak in rows:
        lines.append(f"| {name} | {B}x{T}x{S}x{A} | {ms} | {peak} |")
    table = "\n".join(lines)
    print_table(table, args.out)


if __name__ == "__main__":
    main()
