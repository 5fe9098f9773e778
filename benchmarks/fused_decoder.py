"""The fused Luong-LSTM decoder against stepping the same decoder with autograd, side by side.

    python benchmarks/fused_decoder.py              # 3 interleaved rounds (~3 minutes on 2 cores)
    python benchmarks/fused_decoder.py --quick      # a smoke run

The peers benchmark's RNN (``benchmarks/peers/configs/attnkit_rnn.yaml``: bi-LSTM 2 x 64 -> 2-layer LSTM 128,
Luong ``general`` attention with input feeding) on dates batches of 64 sentences. One model is trained for
``--warm-steps`` steps first (so that it decodes real dates, not 20 tokens of noise); then, in each round and
for each path, ``--steps`` more training steps are timed from a copy of those weights (loss, backward,
clipping, Adam, as the training loop does them) and the dev sentences are decoded at beam 1 and beam 5
(batches of 64). ``model.fused = False`` is the reference: the decoder stepped cell by cell under autograd,
and search stepping it through ``_step``. The script checks that both paths decode the same strings and
prints medians over rounds (min-max).
"""

from __future__ import annotations

import argparse
import copy
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from common import ROOT, print_table, train_step

CONFIG = ROOT / "benchmarks/peers/configs/attnkit_rnn.yaml"


def _train(model, task, optimizer, batches) -> float:
    """Target tokens per second over ``batches``."""
    start = time.perf_counter()
    tokens = sum(train_step(model, optimizer, task.batch(idx)) for idx in batches)
    return tokens / (time.perf_counter() - start)


def _decode(translator, sentences, beam) -> tuple[float, list[str]]:
    start = time.perf_counter()
    texts = [h[0].text for h in translator.translate(sentences, beam=beam)]
    return len(sentences) / (time.perf_counter() - start), texts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warm-steps", type=int, default=400)
    ap.add_argument("--steps", type=int, default=150, help="timed training steps per path and round")
    ap.add_argument("--sentences", type=int, default=1000, help="dev sentences decoded per path and round (<= 1000)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="1 round, 40 warm-up and 20 timed steps, 200 sentences")
    ap.add_argument("--out", help="also write the table to this file")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.warm_steps, args.steps, args.sentences = 1, 40, 20, 200
    torch.set_num_threads(args.threads)

    from attnkit.config import load_config
    from attnkit.training import Translator
    from attnkit.training.optim import Adam
    from attnkit.training.tasks import make_task

    config = load_config(CONFIG, ["data.corpus=dates", "data.train=null", "data.dev=null", "data.test=null",
                                  "data.train_size=20000", f"train.eval_max_sentences={args.sentences}"])
    with tempfile.TemporaryDirectory() as tmp:
        task = make_task(config, Path(tmp))
        task.prepare(False)
        torch.manual_seed(config.seed)
        model = task.build_model().train()
        optimizer = Adam(model.parameters(), lr=1e-3)
        batches = [b for epoch in range(4) for b in task.batches(epoch)]
        need = args.warm_steps + args.steps
        if len(batches) < need:
            raise SystemExit(f"{len(batches)} batches in 4 epochs, {need} needed: lower --warm-steps/--steps")
        _train(model, task, optimizer, batches[:args.warm_steps])
        warm_model, warm_opt = copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict())
        timed = batches[args.warm_steps:need]
        sentences = [p.src for p in task.dev_pairs][:args.sentences]
        rates: dict[bool, dict[str, list[float]]] = {f: {"train": [], "beam1": [], "beam5": []} for f in (True, False)}
        outputs: dict[tuple[bool, int], list[str]] = {}
        for r in range(args.rounds):
            for fused in ((True, False) if r % 2 == 0 else (False, True)):
                model.load_state_dict(warm_model)
                optimizer.load_state_dict(warm_opt)
                model.fused = fused
                model.train()
                torch.manual_seed(r)
                rates[fused]["train"].append(_train(model, task, optimizer, timed))
                model.load_state_dict(warm_model)
                model.eval()
                translator = Translator(model, task.src_tok, task.tgt_tok, config.decode, 10**9)
                for beam in (1, 5):
                    rate, texts = _decode(translator, sentences, beam)
                    rates[fused][f"beam{beam}"].append(rate)
                    outputs[fused, beam] = texts
                print(f"round {r + 1}/{args.rounds} {'fused' if fused else 'stepping'}: "
                      + ", ".join(f"{k} {v[-1]:,.0f}" for k, v in rates[fused].items()), file=sys.stderr)
    same = {beam: sum(a == b for a, b in zip(outputs[True, beam], outputs[False, beam], strict=True))
            for beam in (1, 5)}

    def cell(values: list[float]) -> str:
        return f"{statistics.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})"

    lines = [f"{platform.processor() or platform.machine()}, {args.threads} threads, torch {torch.__version__}, "
             f"{args.rounds} rounds: median (min-max); {args.steps} timed training steps, {len(sentences)} dev "
             f"sentences decoded per path and round", "",
             "| path | train tok/s | beam-1 sent/s | beam-5 sent/s |", "|---|---:|---:|---:|"]
    for fused, name in ((True, "fused (`model.fused = True`, the default)"), (False, "stepping with autograd")):
        lines.append(f"| {name} | " + " | ".join(cell(rates[fused][k]) for k in ("train", "beam1", "beam5")) + " |")
    ratio = {k: statistics.median(rates[True][k]) / statistics.median(rates[False][k]) for k in rates[True]}
    lines.append("| fused / stepping | " + " | ".join(f"{ratio[k]:.2f}x" for k in ("train", "beam1", "beam5")) + " |")
    lines += ["", f"Same decoded strings on both paths: beam 1 {same[1]}/{len(sentences)}, "
                  f"beam 5 {same[5]}/{len(sentences)}."]
    print_table("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
