"""What the one training loop needs to know about a task: its data, batches, model and dev metrics.

The loop (:mod:`attnkit.training.loop`) is the same for every model family; a :class:`Task` supplies
the rest. The model family chooses the task (``config.model.task``):

- ``translate`` (``rnn``, ``transformer``): source/target pairs, greedy-decoding BLEU/chrF/exact match;
- ``classify`` (``han``, ``classifier``): labelled documents, accuracy and macro-F1;
- ``match`` (``matcher``): labelled text pairs, accuracy and macro-F1;
- ``caption`` (``captioner``, ``video_captioner``): generated scenes or clips and their captions, BLEU,
  exact match and where the attention falls;
- ``classify_images`` (``ram``, ``cnn_classifier``): cluttered images and their class, accuracy and macro-F1.

Every task saves what inference needs (tokenizers, or vocabulary and labels) into the model
directory before the first step, and reloads it when a run resumes.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from pathlib import Path

import torch
from torch import nn

from attnkit.config import TASK_VERBS, Config, load_config
from attnkit.data import Pair, bucket_batches, make_batch
from attnkit.data.alignment_targets import gold_alignment_matrix
from attnkit.errors import CheckpointError, ConfigError
from attnkit.evaluation.metrics import translation_metrics
from attnkit.training.corpus import build_tokenizers, load_split, load_tokenizers

__all__ = ["Task", "TranslationTask", "dev_subset", "make_task", "read_model_config"]

log = logging.getLogger("attnkit")


def read_model_config(model_dir: str | Path, task: str | None = None) -> Config:
    """The ``config.yaml`` of a model directory; with ``task``, a model of another task is an error that
    names the verb to use with it."""
    path = Path(model_dir) / "config.yaml"
    if not path.is_file():
        raise CheckpointError(f"{model_dir} is not a model directory (no config.yaml); "
                              f"create one with `attnkit train CONFIG --model-dir {model_dir}`")
    config = load_config(path)
    if task is not None and config.model.task != task:
        raise CheckpointError(f"{model_dir} holds a {config.model.family} model ({config.model.task}), not a "
                              f"{task} model; use `{TASK_VERBS[config.model.task]}` with it")
    return config


def dev_subset(items: list, limit: int | None) -> list:
    """At most ``limit`` items spread evenly over ``items`` (deterministic). Corpora are stored in an order
    (WordNet by part of speech, Debian by package, the Bible by book), so a prefix would cover only a few
    classes or books."""
    if limit is None or len(items) <= limit:
        return items
    return [items[i * len(items) // limit] for i in range(limit)]


class Task(ABC):
    """Data, batches, model and evaluation of one kind of training."""

    curve_metrics: tuple[str, ...]  # the dev metrics drawn in curves.png

    def __init__(self, config: Config, model_dir: Path) -> None:
        self.config, self.model_dir = config, Path(model_dir)
        self._dev_batches: list | None = None

    @abstractmethod
    def prepare(self, resuming: bool) -> None:
        """Load train/dev data; build (or, when resuming, reload) the vocabularies in the model dir."""

    @abstractmethod
    def lengths(self) -> tuple[list[int], list[int]]:
        """Padded cost of each training example on its two sides, for :func:`bucket_batches`."""

    @abstractmethod
    def batch(self, idx: list[int], *, train: bool = True):
        """The batch of training (or dev) examples ``idx`` that ``model.loss`` takes."""

    @abstractmethod
    def build_model(self) -> nn.Module:
        """A fresh model sized by the vocabularies."""

    @abstractmethod
    def dev_metrics(self, model: nn.Module) -> dict:
        """Metrics on (up to ``eval_max_sentences``) dev examples, the model in eval mode."""

    @abstractmethod
    def _dev_lengths(self) -> tuple[list[int], list[int]]:
        """Like :meth:`lengths`, for the dev examples used in :meth:`dev_loss`."""

    def batches(self, epoch: int) -> list[list[int]]:
        src, tgt = self.lengths()
        return bucket_batches(src, tgt, max_tokens=self.config.train.max_tokens, shuffle=True,
                              seed=self.config.seed, epoch=epoch, max_sentences=self.config.train.batch_size)

    @torch.no_grad()
    def dev_loss(self, model: nn.Module) -> float:
        """Mean NLL per target token (translation) or per example (classification) on dev."""
        if self._dev_batches is None:  # the same every evaluation: build once
            src, tgt = self._dev_lengths()
            self._dev_batches = [self.batch(idx, train=False) for idx in bucket_batches(
                src, tgt, max_tokens=self.config.train.max_tokens, shuffle=False, seed=0)]
        total, count = 0.0, 0
        for batch in self._dev_batches:
            out = model.loss(batch)
            total, count = total + float(out.nll), count + out.ntokens
        return total / max(count, 1)

    def evaluate(self, model: nn.Module) -> dict:
        model.eval()
        try:
            metrics = self.dev_metrics(model)
            metrics["loss"] = self.dev_loss(model)
        finally:
            model.train()
        return metrics


def make_task(config: Config, model_dir: Path) -> Task:
    """The task of ``config.model.family`` (classification tasks live in :mod:`attnkit.training.classify`,
    vision tasks in :mod:`attnkit.training.vision`)."""
    task = config.model.task
    if task == "translate":
        return TranslationTask(config, model_dir)
    if task in ("caption", "classify_images"):
        from attnkit.training.vision import CaptionTask, GlimpseTask

        return (CaptionTask if task == "caption" else GlimpseTask)(config, model_dir)
    from attnkit.training.classify import ClassificationTask, MatchingTask

    return (ClassificationTask if task == "classify" else MatchingTask)(config, model_dir)


class TranslationTask(Task):
    """Source/target pairs; dev metrics from greedy decoding.

    With ``train.guided_alignment > 0`` every training batch also carries the gold attention of its
    pairs (:func:`~attnkit.data.alignment_targets.gold_alignment_matrix`) and that weight, so the
    model's ``loss`` supervises its attention; with ``train.coverage_penalty > 0`` training batches carry that
    weight. Dev batches carry neither (the dev loss stays plain NLL).
    """

    curve_metrics = ("bleu", "chrf", "exact_match")

    def prepare(self, resuming: bool) -> None:
        cfg = self.config
        self.train_pairs = load_split(cfg.data, "train", seed=cfg.seed)
        dev = load_split(cfg.data, "dev", seed=cfg.seed)
        self.dev_pairs: list[Pair] = dev_subset(dev, cfg.train.eval_max_sentences)
        if resuming:
            self.src_tok, self.tgt_tok = load_tokenizers(self.model_dir)
        else:
            self.src_tok, self.tgt_tok = build_tokenizers(cfg.data, self.train_pairs, self.model_dir)
        self.src_ids = [self.src_tok.encode(p.src) for p in self.train_pairs]
        self.tgt_ids = [self.tgt_tok.encode(p.tgt) for p in self.train_pairs]
        self.dev_src = [self.src_tok.encode(p.src) for p in self.dev_pairs]
        self.dev_tgt = [self.tgt_tok.encode(p.tgt) for p in self.dev_pairs]
        self.gold_align = self._gold_alignments() if cfg.train.guided_alignment > 0 else None
        if cfg.train.coverage_penalty > 0 and cfg.model.family == "rnn" and cfg.model.decoder == "none":
            raise ConfigError(f"train.coverage_penalty={cfg.train.coverage_penalty} penalises attention, but "
                              f"model.decoder=none has none; use bahdanau or luong, or set train.coverage_penalty=0")
        log.info("data: %d train / %d dev pairs; vocab %d src / %d tgt (%s)", len(self.train_pairs),
                 len(self.dev_pairs), self.src_tok.vocab_size, self.tgt_tok.vocab_size, cfg.data.tokenizer.kind)

    def _gold_alignments(self) -> list:
        """Gold attention ``[T_i, S_i]`` of every training pair, computed once for all epochs."""
        cfg = self.config
        if cfg.model.family == "rnn" and cfg.model.decoder == "none":
            raise ConfigError(f"train.guided_alignment={cfg.train.guided_alignment} supervises attention, but "
                              f"model.decoder=none has none; use bahdanau or luong, or set train.guided_alignment=0")
        missing = sum(p.sure is None and p.possible is None for p in self.train_pairs)
        if missing:
            raise ConfigError(f"train.guided_alignment={cfg.train.guided_alignment} needs gold alignments, but "
                              f"{missing} of {len(self.train_pairs)} training pairs of data.corpus="
                              f"{cfg.data.corpus} have none (the dates corpus has them); set "
                              f"train.guided_alignment=0")
        gold = [gold_alignment_matrix(p, self.src_tok, self.tgt_tok) for p in self.train_pairs]
        linked = sum(int((g.sum(-1) > 0).sum()) for g in gold)
        log.info("guided alignment: weight %g, %d of %d training target tokens have gold links",
                 cfg.train.guided_alignment, linked, sum(len(t) for t in self.tgt_ids))
        return gold

    def lengths(self) -> tuple[list[int], list[int]]:
        return [len(s) for s in self.src_ids], [len(t) + 1 for t in self.tgt_ids]

    def _dev_lengths(self) -> tuple[list[int], list[int]]:
        return [len(s) for s in self.dev_src], [len(t) + 1 for t in self.dev_tgt]

    def batch(self, idx: list[int], *, train: bool = True):
        if not train:
            return make_batch([self.dev_src[i] for i in idx], [self.dev_tgt[i] for i in idx], idx)
        cfg = self.config.train
        gold = None if self.gold_align is None else [self.gold_align[i] for i in idx]
        return make_batch([self.src_ids[i] for i in idx], [self.tgt_ids[i] for i in idx], idx, align=gold,
                          align_weight=cfg.guided_alignment if gold is not None else 0.0,
                          coverage_weight=cfg.coverage_penalty)

    def build_model(self) -> nn.Module:
        from attnkit.training.translator import build_model

        return build_model(self.config, self.src_tok.vocab_size, self.tgt_tok.vocab_size)

    def dev_metrics(self, model: nn.Module) -> dict:
        from attnkit.training.translator import Translator

        translator = Translator(model, self.src_tok, self.tgt_tok, self.config.decode, 10**9)
        hyps = [h[0].text for h in translator.translate([p.src for p in self.dev_pairs], beam=1)]
        return translation_metrics(hyps, [p.tgt for p in self.dev_pairs])

