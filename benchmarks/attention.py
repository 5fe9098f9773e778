"""Time and peak memory of every attention mechanism, with the plain version beside each fast one.

Each case runs in a fresh subprocess so its peak resident memory is its own: the figure reported is
the growth of the process's peak RSS (``ru_maxrss``) over the forward + backward pass, on top of
what the inputs and parameters already hold. Times are the median of ``--repeats`` forward + backward
passes after that first (warm-up) one; every case runs ``--rounds`` times, the rounds interleaved across
cases, and the table gives the medians over rounds.

    python benchmarks/attention.py                 # all cases, markdown table on stdout
    python benchmarks/attention.py --quick         # small shapes only (a smoke run)
    python benchmarks/attention.py --out docs/benchmarks-attention.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

from common import print_table

# (mechanism, variant, B, T, S, D); the variants of one mechanism are listed together.
CASES = [
    ("additive", "lean (chunked, recompute)", 32, 200, 200, 256),
    ("additive", "plain broadcast", 32, 200, 200, 256),
    ("additive", "lean (chunked, recompute)", 32, 50, 50, 256),
    ("additive", "plain broadcast", 32, 50, 50, 256),
    ("concat", "lean (chunked, recompute)", 32, 50, 50, 256),
    ("concat", "plain broadcast", 32, 50, 50, 256),
    ("dot", "softmax", 32, 200, 200, 256),
    ("scaled_dot", "softmax", 32, 200, 200, 256),
    ("general", "softmax", 32, 200, 200, 256),
    ("general", "sparsemax", 32, 200, 200, 256),
    ("multihead", "fused (scaled_dot_product_attention)", 32, 200, 200, 256),
    ("multihead", "explicit (weights returned)", 32, 200, 200, 256),
    ("multihead", "torch.nn.MultiheadAttention", 32, 200, 200, 256),
    ("local-p", "window D=10", 32, 200, 200, 256),
    ("hard", "reinforce sample", 32, 200, 200, 256),
    ("coattention", "dot", 32, 200, 200, 256),
]
QUICK = [(*c[:2], 4, 16, 16, 32) for c in CASES]


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _build(mechanism: str, variant: str, B: int, T: int, S: int, D: int):
    """Return a zero-argument callable running one forward + backward pass."""
    import torch
    from torch import nn

    from attnkit.attention import (
        Attention,
        CoAttention,
        HardAttention,
        LocalAttention,
        MultiHeadAttention,
    )

    torch.manual_seed(0)
    q = torch.randn(B, T, D, requires_grad=True)
    k = torch.randn(B, S, D, requires_grad=True)
    mask = torch.ones(B, S, dtype=torch.bool)
    mask[B // 2 :, S * 3 // 4 :] = False
    lean = variant.startswith("lean")
    if mechanism in ("additive", "concat", "dot", "scaled_dot", "general"):
        normalizer = "sparsemax" if variant == "sparsemax" else "softmax"
        module = Attention(mechanism, D, D, D, normalizer=normalizer, memory_efficient=lean)
        run = lambda: module(q, k, k, mask).context  # noqa: E731
    elif mechanism == "multihead" and variant.startswith("torch"):
        module = nn.MultiheadAttention(D, 8, batch_first=True)
        run = lambda: module(q, k, k, key_padding_mask=~mask, need_weights=False)[0]  # noqa: E731
    elif mechanism == "multihead":
        module = MultiHeadAttention(D, 8)
        need = variant.startswith("explicit")
        run = lambda: module(q, k, k, mask, need_weights=need).output  # noqa: E731
    elif mechanism == "local-p":
        module = LocalAttention("general", D, D, D, window=10, mode="predictive")
        run = lambda: module(q, k, k, mask).context  # noqa: E731
    elif mechanism == "hard":
        module = HardAttention("general", D, D, estimator="reinforce")
        run = lambda: module(q, k, k, mask).log_prob  # noqa: E731
    elif mechanism == "coattention":
        module = CoAttention(D)
        run = lambda: module(q, k, None, mask).context1  # noqa: E731
    else:
        raise ValueError(mechanism)

    def step():
        out = run()
        out.sum().backward()
        q.grad = k.grad = None

    return step


def _child(case: list, repeats: int) -> None:
    import torch

    torch.set_num_threads(int(os.environ.get("ATTNKIT_BENCH_THREADS", "2")))
    step = _build(*case)
    before = _peak_mib()
    step()  # warm-up: pays one-time set-up; its growth of the peak RSS is the memory figure
    peak = _peak_mib() - before
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    print(json.dumps({"ms": 1000 * statistics.median(times), "peak_mib": peak}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny shapes (smoke test)")
    ap.add_argument("--repeats", type=int, default=3, help="timed passes per process (after a warm-up)")
    ap.add_argument("--rounds", type=int, default=3, help="processes per case, interleaved across cases")
    ap.add_argument("--out", help="also write the table (markdown) to this file")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(json.loads(args.child), args.repeats)
        return
    cases = QUICK if args.quick else CASES
    # Rounds interleave the cases (plain beside lean, round after round) so that a noisy stretch of a
    # shared machine hits both variants alike; each case's figures are the median over rounds.
    runs: dict[int, list[dict]] = {i: [] for i in range(len(cases))}
    for round_ in range(args.rounds):
        for i, case in enumerate(cases):
            cmd = [sys.executable, __file__, "--child", json.dumps(case), "--repeats", str(args.repeats)]
            res = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if res.returncode != 0:
                raise SystemExit(f"case {case} failed:\n{res.stderr}")
            runs[i].append(json.loads(res.stdout.strip().splitlines()[-1]))
            print(f"  round {round_ + 1}: {case}: {runs[i][-1]}", file=sys.stderr)
    rows = [(case, {k: statistics.median(r[k] for r in runs[i]) for k in ("ms", "peak_mib")})
            for i, case in enumerate(cases)]
    import torch

    lines = [
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, threads {os.environ.get('ATTNKIT_BENCH_THREADS', '2')}, "
        f"time: median over {args.rounds} interleaved rounds of the median of {args.repeats} forward+backward "
        f"passes after a warm-up; memory: median over rounds",
        "",
        "| mechanism | variant | B x T x S x D | time (ms) | peak extra RSS (MiB) |",
        "|---|---|---|---:|---:|",
    ]
    for (mech, variant, B, T, S, D), r in rows:
        lines.append(f"| {mech} | {variant} | {B}x{T}x{S}x{D} | {r['ms']:.1f} | {r['peak_mib']:.0f} |")
    table = "\n".join(lines)
    print_table(table, args.out)


if __name__ == "__main__":
    main()
