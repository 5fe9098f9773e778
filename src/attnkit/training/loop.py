"""One training loop for every model family that has ``loss(batch)``; a :class:`~attnkit.training.tasks.Task`
supplies the data, batches, model and dev metrics of translation, classification or matching.

Adam, a learning-rate schedule, label smoothing, gradient clipping, evaluation on dev every
``eval_every`` steps with early stopping, atomic checkpoints (``model.safetensors`` = best,
``last.pt`` = resumable state), a progress bar with tokens/s and ETA, and ``train.log``.

Resuming is exact: the batches of an epoch are a pure function of ``(seed, epoch)`` and ``last.pt``
stores the position inside the epoch with the RNG state, so an interrupted run that resumes reaches
the same parameters as one that never stopped.

Under ``torchrun`` the same loop trains data-parallel (:mod:`attnkit.training.distributed`): each
process takes its share of every global batch, DDP averages the gradients, rank 0 alone writes, logs
and evaluates. ``train.precision=bf16`` runs the forward pass under bfloat16 autocast.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import random
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from attnkit.config import Config, dump_config, load_config
from attnkit.errors import CheckpointError, ConfigError
from attnkit.training import distributed
from attnkit.training.checkpoint import load_training_state, save_training_state, save_weights, write_json
from attnkit.training.optim import Adam
from attnkit.training.schedule import LRSchedule
from attnkit.training.tasks import make_task

__all__ = ["TrainState", "Trainer", "train"]

log = logging.getLogger("attnkit")
# Settings that may change when a run resumes; anything else must match the saved config.yaml.
RESUMABLE_CHANGES = {"max_steps", "max_epochs", "time_limit_minutes", "patience", "eval_every", "save_every",
                     "log_every", "threads", "eval_max_sentences", "precision"}
TRAINING_FILES = ("last.pt", "model.safetensors", "metrics.json", "history.json", "train.log", "curves.png")


@dataclass
class TrainState:
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    best: float | None = None
    best_step: int = 0
    bad_evals: int = 0
    elapsed: float = 0.0
    history: list[dict] = field(default_factory=list)


def _comparable(config: Config) -> dict:
    data = config.model_dump(mode="json")
    data["train"] = {k: v for k, v in data["train"].items() if k not in RESUMABLE_CHANGES}
    data.pop("decode")
    return data


def _setup_logging(model_dir: Path) -> logging.Handler:
    handler = logging.FileHandler(model_dir / "train.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return handler


class Trainer:
    """Holds what one run needs; :meth:`run` trains until a stop condition and returns the metrics."""

    def __init__(self, config: Config, model_dir: Path, *, resume: bool = True, progress: bool = True,
                 group: distributed.Group | None = None) -> None:
        group = group or distributed.Group()
        self.config, self.model_dir, self.group = config, Path(model_dir), group
        self.progress = progress and group.main
        self.stop_requested = False  # set by Ctrl-C / SIGTERM; honoured between steps
        self.at_step_boundary = False
        self.task = make_task(config, self.model_dir)
        self.resuming = resume and (self.model_dir / "last.pt").is_file()
        distributed.barrier(group)  # every rank has looked for last.pt before rank 0 may remove it
        if group.main:  # only rank 0 writes the model directory
            self.model_dir.mkdir(parents=True, exist_ok=True)
            if not self.resuming:
                for name in TRAINING_FILES:
                    (self.model_dir / name).unlink(missing_ok=True)
            else:
                self._check_same_run()
            dump_config(config, self.model_dir / "config.yaml")
        if config.train.threads:
            torch.set_num_threads(config.train.threads)

    def _check_same_run(self) -> None:
        saved = load_config(self.model_dir / "config.yaml")
        if _comparable(saved) != _comparable(self.config):
            raise ConfigError(
                f"{self.model_dir} holds a run with a different configuration; resume it with the same config "
                f"(only train.{{{', '.join(sorted(RESUMABLE_CHANGES))}}} may change), or pass --fresh to start over")

    # ------------------------------------------------------------------ model
    def _prepare_model(self) -> None:
        cfg = self.config
        torch.manual_seed(cfg.seed)
        random.seed(cfg.seed)
        self.model = self.task.build_model()
        self.step_module = distributed.wrap(self.model, self.group)  # DDP broadcasts rank 0's parameters
        self.optimizer = Adam(self.model.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
        t = cfg.train
        self.schedule = LRSchedule(self.optimizer, kind=t.schedule, lr=t.lr, warmup_steps=t.warmup_steps,
                                   factor=t.plateau_factor, patience=t.plateau_patience, min_lr=t.min_lr)
        self.state = TrainState()
        if self.resuming:
            saved = load_training_state(self.model_dir / "last.pt")
            try:
                self.model.load_state_dict(saved["model"])
            except RuntimeError as err:  # shapes or names differ: the model code changed since the run began
                raise CheckpointError(
                    f"{self.model_dir / 'last.pt'} does not fit the model that config.yaml builds now "
                    f"({str(err).splitlines()[-1].strip()[:160]}); pass --fresh to start over") from None
            try:
                self.optimizer.load_state_dict(saved["optimizer"])
            except (ValueError, KeyError) as err:
                raise CheckpointError(f"{self.model_dir / 'last.pt'}: its optimizer state does not fit this model "
                                      f"({err}); pass --fresh to start over") from None
            self.schedule.load_state_dict(saved["schedule"])
            self.state = TrainState(**saved["train_state"])
            torch.set_rng_state(saved["rng_torch"])
            random.setstate(saved["rng_python"])
            if self.group.distributed:  # DDP keeps the ranks' parameters equal; make them sync again
                for param in self.model.parameters():
                    torch.distributed.broadcast(param.data, src=0)
            log.info("resumed from step %d (epoch %d, batch %d)", self.state.step, self.state.epoch,
                     self.state.batch_in_epoch)
        if self.group.rank:  # the other ranks draw their own dropout masks and samples
            torch.manual_seed(cfg.seed + 7919 * self.group.rank + self.state.step)
        n_params = sum(p.numel() for p in self.model.parameters())
        kind = cfg.model.family + {"rnn": f"/{cfg.model.decoder}", "han": f"/{cfg.model.pooling}",
                                   "classifier": f"/{cfg.model.pooling}",
                                   "matcher": "/coattention" * cfg.model.coattention}.get(cfg.model.family, "")
        log.info("model: %s, %d parameters", kind, n_params)

    def _save_last(self) -> None:
        if not self.group.main:
            return
        save_training_state(self.model_dir / "last.pt", {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(), "train_state": asdict(self.state),
            "rng_torch": torch.get_rng_state(), "rng_python": random.getstate()})

    # ------------------------------------------------------------------ evaluation
    def evaluate(self) -> dict:
        """Dev metrics of the task (greedy decoding for translation) and the dev loss."""
        return self.task.evaluate(self.model)

    def _after_eval(self, metrics: dict) -> bool:
        """Record, keep the best weights, step the plateau schedule; True when patience ran out."""
        key = self.config.train.early_stopping_metric
        value = metrics[key]
        better = self.state.best is None or (value < self.state.best if key == "loss" else value > self.state.best)
        entry = {"step": self.state.step, **{k: v for k, v in metrics.items() if not k.endswith("signature")},
                 "lr": self.optimizer.param_groups[0]["lr"]}
        self.state.history.append(entry)
        if better:
            self.state.best, self.state.best_step, self.state.bad_evals = value, self.state.step, 0
            save_weights(self.model, self.model_dir / "model.safetensors", self.config.model.family)
            write_json(self.model_dir / "metrics.json", {"dev": metrics, "best_step": self.state.step})
        else:
            self.state.bad_evals += 1
        self.schedule.on_eval(better)
        log.info("eval step %d: %s%s", self.state.step,
                 ", ".join(f"{k}={v:.4g}" for k, v in entry.items() if isinstance(v, float)), " (best)" * better)
        patience = self.config.train.patience
        return patience is not None and self.state.bad_evals >= patience

    # ------------------------------------------------------------------ loop
    def _train_step(self, idx: list[int]) -> tuple[float, int]:
        """One optimiser step on the global batch ``idx``; its summed NLL and units (over all ranks)."""
        batch = self.task.batch(distributed.shard(idx, self.group))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.config.train.precision == "bf16"):
            out = self.step_module(batch, label_smoothing=self.config.train.label_smoothing)
        factor, nll, ntokens = distributed.global_sums(out.ntokens, float(out.nll), self.group)
        self.optimizer.zero_grad(set_to_none=True)
        (out.loss * factor if factor != 1.0 else out.loss).backward()
        if self.config.train.clip_norm:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.train.clip_norm)
        self.optimizer.step()
        self.state.step += 1
        self.schedule.apply(self.state.step)
        return nll, ntokens

    def _stop_reason(self, started: float) -> str | None:
        t = self.config.train
        if self.state.step >= t.max_steps:
            return f"reached train.max_steps={t.max_steps}"
        if t.max_epochs is not None and self.state.epoch >= t.max_epochs:
            return f"reached train.max_epochs={t.max_epochs}"
        if t.time_limit_minutes and self.state.elapsed + time.time() - started >= 60 * t.time_limit_minutes:
            return f"reached train.time_limit_minutes={t.time_limit_minutes}"
        return None

    def _epochs(self):
        """Yield (epoch, batch index, example indices) from the saved position onwards."""
        while True:
            batches = self.task.batches(self.state.epoch)
            for b in range(self.state.batch_in_epoch, len(batches)):
                if len(batches[b]) >= self.group.world:  # (every rank skips a batch too small to share)
                    yield b, batches[b]
            self.state.epoch += 1
            self.state.batch_in_epoch = 0

    def _prepare_data(self) -> None:
        """Rank 0 builds the vocabularies into the model directory; the other ranks then read them."""
        if self.group.main:
            self.task.prepare(self.resuming)
        distributed.barrier(self.group)
        if not self.group.main:
            self.task.prepare(True)

    def _agree_to_stop(self, reason: str | None) -> str | None:
        """The stop reason all ranks act on (rank 0 owns the clock and the dev metrics); raises
        KeyboardInterrupt on every rank once any rank got Ctrl-C / SIGTERM."""
        stop_now, rank0_stops = distributed.agree((self.stop_requested, reason is not None and self.group.main),
                                                  self.group)
        if self.group.distributed:
            reason = (reason or "rank 0 stopped the run") if rank0_stops else None
        if stop_now:  # between two steps: the saved state is a consistent one
            self.at_step_boundary = True
            raise KeyboardInterrupt
        return reason

    def run(self) -> dict:
        self._prepare_data()
        self._prepare_model()
        t = self.config.train
        started, window_tok, window_nll, window_t = time.time(), 0, 0.0, time.time()
        bar = tqdm(total=t.max_steps, initial=self.state.step, disable=not self.progress, unit="step",
                   dynamic_ncols=True, desc=self.config.name)
        reason = self._stop_reason(started)
        self.model.train()
        try:
            for b, idx in self._epochs():
                reason = self._agree_to_stop(reason)
                if reason:
                    break
                nll, ntok = self._train_step(idx)
                self.state.batch_in_epoch = b + 1
                window_tok, window_nll = window_tok + ntok, window_nll + nll
                bar.update(1)
                if self.state.step % t.log_every == 0 and self.group.main:
                    rate = window_tok / max(time.time() - window_t, 1e-9)
                    bar.set_postfix(loss=f"{window_nll / max(window_tok, 1):.3f}", tok_s=f"{rate:,.0f}",
                                    lr=f"{self.optimizer.param_groups[0]['lr']:.2e}")
                    log.info("step %d epoch %d: nll/token %.4f, %.0f target tok/s, lr %.3g", self.state.step,
                             self.state.epoch, window_nll / max(window_tok, 1), rate,
                             self.optimizer.param_groups[0]["lr"])
                    window_tok, window_nll, window_t = 0, 0.0, time.time()
                if self.state.step % t.eval_every == 0 and self.group.main and self._after_eval(self.evaluate()):
                    reason = f"early stopping: no dev {t.early_stopping_metric} improvement in {t.patience} evaluations"
                if self.state.step % t.save_every == 0:
                    self.state.elapsed += time.time() - started
                    started = time.time()
                    self._save_last()
                reason = reason or self._stop_reason(started)
        except KeyboardInterrupt:
            if self.at_step_boundary:
                self.state.elapsed += time.time() - started
                self._save_last()
                log.info("stopped at step %d; state saved to last.pt, run the same command to resume",
                         self.state.step)
            else:  # a second signal, possibly mid-update: keep the last consistent last.pt
                log.info("interrupted during step %d; last.pt holds the last saved step", self.state.step + 1)
            raise
        finally:
            bar.close()
        return self._finish(reason or "data exhausted", started)

    def _finish(self, reason: str, started: float) -> dict:
        if not self.group.main:  # rank 0 evaluates, saves and reports
            return {"stopped": reason, "steps": self.state.step, "best_step": None, "train_minutes":
                    (self.state.elapsed + time.time() - started) / 60, "history": [], "rank": self.group.rank}
        _release_memory()  # what training freed goes back to the system before evaluating and plotting
        if not self.state.history or self.state.history[-1]["step"] != self.state.step:
            self._after_eval(self.evaluate())
        self.state.elapsed += time.time() - started
        self._save_last()
        log.info("stopped: %s; best dev %s=%.4g at step %d; %.1f min", reason,
                 self.config.train.early_stopping_metric, self.state.best, self.state.best_step,
                 self.state.elapsed / 60)
        _plot_curves(self.state.history, self.model_dir / "curves.png", self.task.curve_metrics)
        summary = {"stopped": reason, "steps": self.state.step, "best_step": self.state.best_step,
                   "train_minutes": self.state.elapsed / 60, "history": self.state.history}
        write_json(self.model_dir / "history.json", summary)
        return summary


def _release_memory() -> None:
    """Collect garbage and hand the C allocator's free pages back to the system (glibc's ``malloc_trim``),
    so the peak resident memory of a run is training's, not training's plus what follows it."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _plot_curves(history: list[dict], path: Path, metrics: tuple[str, ...]) -> None:
    """Dev loss and the early-stopping metrics against steps, as a PNG beside the model."""
    if not history:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [h["step"] for h in history]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    axes[0].plot(steps, [h["loss"] for h in history], marker="o")
    axes[0].set(xlabel="step", ylabel="dev nll per token (or example)", title="dev loss")
    for key in metrics:
        axes[1].plot(steps, [h[key] for h in history], marker="o", label=key)
    axes[1].set(xlabel="step", ylabel="score", title="dev metrics")
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


@contextlib.contextmanager
def _stop_between_steps(trainer: Trainer):
    """Ctrl-C and SIGTERM ask the trainer to stop after the step in progress, which then saves
    ``last.pt`` from a consistent state (never from the middle of an optimiser update); a second signal
    interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def request_stop(signum, frame):
        if trainer.stop_requested:
            raise KeyboardInterrupt
        trainer.stop_requested = True
        log.info("%s received: stopping after the current step", signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def train(config: Config, model_dir: str | Path, *, resume: bool = True, progress: bool = True) -> dict:
    """Train ``config`` into ``model_dir`` (resuming an interrupted run there unless ``resume=False``).

    Started by ``torchrun`` (``WORLD_SIZE`` > 1 in the environment), the processes train together;
    every rank returns, rank 0's summary is the one with the history."""
    group = distributed.setup()
    try:
        trainer = Trainer(config, Path(model_dir), resume=resume, progress=progress, group=group)
        handler = _setup_logging(trainer.model_dir) if group.main else None
        try:
            with _stop_between_steps(trainer):
                summary = trainer.run()
            distributed.barrier(group)  # the other ranks wait for rank 0's final evaluation
            return summary
        finally:
            if handler is not None:
                log.removeHandler(handler)
                handler.close()
    finally:
        distributed.teardown(group)
