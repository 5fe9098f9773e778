"""Does ``torch.compile`` pay for attnkit's training step on the CPU? Eager vs compiled, side by side.

    python benchmarks/compile.py                 # the two models of benchmarks/peers, 60 timed steps each
    python benchmarks/compile.py --steps 10      # a smoke run

For the RNN (Luong attention with input feeding, a Python loop over target steps) and the Transformer of
``benchmarks/peers/configs``, on the same dates batches (64 sentences): the training step (loss, backward,
Adam) eager, and with the loss compiled by ``torch.compile(dynamic=True)`` (Inductor, C++ kernels). The
table gives the time of the first compiled step (compilation, once per process and for new shapes) and
the median step time after it, interleaved in rounds with the eager steps. Numbers are target tokens/s.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

from attnkit.config import load_config
from attnkit.training.tasks import make_task

CONFIGS = Path(__file__).resolve().parent / "peers" / "configs"
MODELS = {"RNN, Luong + input feeding (2+2 layers)": "attnkit_rnn.yaml",
          "Transformer 2+2, d 128": "attnkit_transformer.yaml"}


def _setup(config_file: Path, workdir: Path):
    overrides = ["data.corpus=dates", "data.train_size=4000", "data.train=null", "data.dev=null", "data.test=null"]
    config = load_config(config_file, overrides)
    task = make_task(config, workdir)
    task.prepare(False)
    torch.manual_seed(0)
    model = task.build_model().train()
    return task, model, torch.optim.Adam(model.parameters(), lr=1e-3)


def _step(task, model, optimizer, loss_fn, idx) -> tuple[float, int]:
    batch = task.batch(idx)
    start = time.perf_counter()
    out = loss_fn(batch)
    optimizer.zero_grad(set_to_none=True)
    out.loss.backward()
    optimizer.step()
    return time.perf_counter() - start, out.ntokens


def measure(name: str, config_file: Path, steps: int, rounds: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        task, model, optimizer = _setup(config_file, Path(tmp))
        compiled = torch.compile(lambda batch: model.loss(batch), dynamic=True)
        batches = task.batches(0)
        t0 = time.perf_counter()
        _step(task, model, optimizer, compiled, batches[0])
        compile_s = time.perf_counter() - t0
        _step(task, model, optimizer, model.loss, batches[1])  # eager warm-up
        times: dict[str, list[float]] = {"eager": [], "compiled": []}
        per_round = max(1, steps // rounds)
        cursor = 2
        for _ in range(rounds):
            for kind, fn in (("eager", model.loss), ("compiled", compiled)):
                seconds, tokens = 0.0, 0
                for idx in batches[cursor:cursor + per_round]:
                    s, n = _step(task, model, optimizer, fn, idx)
                    seconds, tokens = seconds + s, tokens + n
                cursor += per_round
                times[kind].append(tokens / seconds)
    return {"model": name, "compile_s": compile_s, **{k: statistics.median(v) for k, v in times.items()},
            "spread": {k: (min(v), max(v)) for k, v in times.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60, help="timed steps per model and variant")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"machine: {platform.machine()}, torch {torch.__version__}, threads {args.threads}; target tokens/s, "
          f"median over {args.rounds} interleaved rounds of {args.steps // args.rounds} steps\n")
    print("| model | eager tok/s | compiled tok/s | compiled / eager | first compiled step (s) |")
    print("|---|---:|---:|---:|---:|")
    for name, file in MODELS.items():
        r = measure(name, CONFIGS / file, args.steps, args.rounds)
        print(f"| {name} | {r['eager']:,.0f} | {r['compiled']:,.0f} | {r['compiled'] / r['eager']:.2f}x | "
              f"{r['compile_s']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
