"""Where a training step (or a beam search) spends its time: torch.profiler's table of the top operators.

    python benchmarks/profile_step.py benchmarks/peers/configs/attnkit_transformer.yaml
    python benchmarks/profile_step.py benchmarks/peers/configs/attnkit_rnn.yaml --steps 10 --threads 1
    python benchmarks/profile_step.py --decode runs/dates_bahdanau --beam 5

Training: the config's model on its own batches (the dates corpus stands in for ``data.corpus: files``
configs), a few warm-up steps, then ``--steps`` profiled steps of loss + backward + clipping + Adam, as the
training loop does them. ``--decode MODEL_DIR``: beam search over 256 dev sentences with a trained model
instead. The table is sorted by self CPU time; the first line gives target tokens/s without the profiler.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from torch.profiler import profile

from common import train_step


def _train_steps(config_file: str, steps: int, rows: int) -> None:
    from attnkit.config import load_config
    from attnkit.training.optim import Adam
    from attnkit.training.tasks import make_task

    config = load_config(config_file)
    if config.data.corpus == "files":  # the peers' configs read exported files: use the corpus itself
        config = load_config(config_file, ["data.corpus=dates", "data.train=null", "data.dev=null",
                                           "data.test=null", "data.train_size=4000"])
    with tempfile.TemporaryDirectory() as tmp:
        task = make_task(config, Path(tmp))
        task.prepare(False)
        torch.manual_seed(0)
        model = task.build_model().train()
        optimizer = Adam(model.parameters(), lr=1e-3)
        batches = task.batches(0)

        def step(idx) -> int:
            return train_step(model, optimizer, task.batch(idx), config.train.label_smoothing)

        for idx in batches[:5]:
            step(idx)
        start, tokens = time.perf_counter(), sum(step(idx) for idx in batches[5:5 + 2 * steps])
        print(f"{tokens / (time.perf_counter() - start):,.0f} target tokens/s over {2 * steps} steps, "
              f"{torch.get_num_threads()} threads")
        with profile() as prof:
            for idx in batches[5 + 2 * steps:5 + 3 * steps]:
                step(idx)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows))


def _decode(model_dir: str, beam: int, rows: int) -> None:
    from attnkit.config import load_config
    from attnkit.training import Translator
    from attnkit.training.corpus import load_split

    translator = Translator.from_dir(model_dir)
    config = load_config(Path(model_dir) / "config.yaml")
    sentences = [p.src for p in load_split(config.data, "dev", seed=config.seed)][:256]
    translator.translate(sentences[:64], beam=beam)
    start = time.perf_counter()
    translator.translate(sentences, beam=beam)
    print(f"{len(sentences) / (time.perf_counter() - start):,.0f} sentences/s at beam {beam}, "
          f"{torch.get_num_threads()} threads")
    with profile() as prof:
        translator.translate(sentences, beam=beam)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", nargs="?", help="the training config to profile a step of")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--decode", metavar="MODEL_DIR", help="profile beam search with this trained model instead")
    parser.add_argument("--beam", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.decode:
        _decode(args.decode, args.beam, args.rows)
    elif not args.config:
        parser.error("give a training config, or --decode MODEL_DIR")
    else:
        _train_steps(args.config, args.steps, args.rows)


if __name__ == "__main__":
    main()
