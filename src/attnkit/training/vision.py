"""Captioning and glimpse classification: their training tasks, their predictors and their evaluation.

- :class:`CaptionTask` / :class:`ImageCaptioner`: the ``captioner`` (Show, Attend and Tell; soft or hard
  attention over CNN regions) on the generated fashion ``scenes``, and the ``video_captioner`` (temporal
  attention over frames) on the generated ``clips``; every caption comes back with the attention of
  each of its words.
- :class:`GlimpseTask` / :class:`ImageClassifierPredictor`: the recurrent attention model ``ram`` and its
  attention-free baseline ``cnn_classifier`` on ``cluttered`` images; RAM's glimpse locations come back
  with every prediction.

Data. The three corpora are generated from Fashion-MNIST (:mod:`attnkit.data.scenes`,
:mod:`~attnkit.data.video`, :mod:`~attnkit.data.cluttered`) with the corpus seed 0 whatever the training
seed, so every run and every model is scored on the same images; ``data.train_size`` and
``data.eval_size`` say how many are drawn for train and for dev/test. Pixels are kept as uint8 and scaled
to [0, 1] batch by batch.

Batches hold a fixed number of examples, ``train.batch_size`` (every image costs the same; captions are
padded to the longest of their batch), shuffled per epoch by :func:`~attnkit.data.bucket_batches` so that
resuming stays exact; ``train.max_tokens`` is not used.

The model directory holds ``tgt.tokenizer.json`` (the word vocabulary of the training captions, as
translation saves its target side) or ``labels.json`` (class names in logit order) beside
``config.yaml`` and the weights.
"""
# B batch, N examples, F frames, H/W image size, T target len, R regions, G glimpses, K classes

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from attnkit.config import Config, DataConfig
from attnkit.data import BOS, EOS, Tokenizer, bucket_batches, load_tokenizer, pad, train_tokenizer
from attnkit.data.documents import LabelSet
from attnkit.data.fashion import WORDS
from attnkit.decoding import beam_search, greedy_search
from attnkit.errors import ConfigError, DataError
from attnkit.evaluation.classification import classification_metrics
from attnkit.evaluation.vision import caption_scores, frame_hits, glimpse_hits, hit_rate, pointing_hits
from attnkit.models import create_model, search_inputs
from attnkit.training.checkpoint import load_weights, write_json
from attnkit.training.corpus import SPLITS
from attnkit.training.tasks import Task, read_model_config

__all__ = ["Caption", "CaptionBatch", "CaptionTask", "ClipBatch", "GlimpseTask", "ImageBatch", "ImageCaptioner",
           "ImageClassifierPredictor", "ImagePrediction", "VisionSplit", "build_vision_model",
           "evaluate_captioner", "evaluate_image_classifier", "load_vision_split", "read_image_file"]

log = logging.getLogger("attnkit")
TOKENIZER, LABELS_FILE = "tgt", "labels.json"
CORPUS_SEED = 0  # the generated corpora are fixed, whatever the training seed


# --------------------------------------------------------------------------- data
@dataclass
class VisionSplit:
    """One split of a generated vision corpus.

    ``pixels``: uint8 ``[N, H, W]`` images or ``[N, F, H, W]`` clips. ``items``: the
    :class:`~attnkit.data.scenes.Scene` or :class:`~attnkit.data.video.Clip` objects (the ground truth of
    pointing and frame alignment), empty for ``cluttered``. ``captions`` (scenes, clips) or ``labels`` and
    ``boxes`` ``[N, 4]`` (cluttered) are None where they do not apply.
    """

    pixels: Tensor
    items: list
    captions: list[str] | None = None
    labels: list[int] | None = None
    boxes: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.pixels)


def load_vision_split(cfg: DataConfig, split: str, limit: int | None = None) -> VisionSplit:
    """``data.train_size`` (train) or ``data.eval_size`` (dev, test) examples of ``data.corpus``, at most ``limit``."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    n = cfg.train_size if split == "train" else cfg.eval_size
    n = n if limit is None else min(n, limit)
    if cfg.corpus == "scenes":
        from attnkit.data.scenes import make_scenes

        scenes = make_scenes(split, n, objects=tuple(cfg.objects), size=cfg.image_size, seed=CORPUS_SEED)
        pixels = torch.from_numpy(np.stack([s.image for s in scenes]))  # [N, H, W]
        return VisionSplit(pixels, scenes, captions=[s.caption for s in scenes])
    if cfg.corpus == "clips":
        from attnkit.data.video import make_clips

        clips = make_clips(split, n, frames=cfg.frames, size=cfg.image_size, events=tuple(cfg.events),
                           seed=CORPUS_SEED)
        pixels = torch.from_numpy(np.stack([c.frames for c in clips]))  # [N, F, H, W]
        return VisionSplit(pixels, clips, captions=[c.caption for c in clips])
    if cfg.corpus == "cluttered":
        from attnkit.data.cluttered import make_cluttered

        images, labels, boxes = make_cluttered(split, n, size=cfg.image_size, clutter=cfg.clutter, seed=CORPUS_SEED)
        pixels = torch.from_numpy(np.round(images * 255.0).astype(np.uint8))  # exact: the canvases are bytes / 255
        return VisionSplit(pixels, [], labels=labels.tolist(), boxes=boxes)
    raise DataError(f"data.corpus={cfg.corpus} is not a generated vision corpus (scenes, clips, cluttered)")


def _as_float(pixels: Tensor, video: bool) -> Tensor:
    """uint8 ``[B, H, W]`` -> float ``[B, 1, H, W]`` in [0, 1]; clips ``[B, F, H, W]`` -> ``[B, F, 1, H, W]``."""
    channel = 2 if video else 1
    return pixels.unsqueeze(channel).to(torch.float32) / 255.0


@dataclass
class CaptionBatch:
    """Images and their captions, as ``ImageCaptioner.loss`` reads them.

    Shapes:
        images ``[B, 1, H, W]`` float in [0, 1]; tgt_in ``[B, T]`` BOS + caption; tgt_out ``[B, T]`` caption
        + EOS; tgt_mask ``[B, T]`` bool, True = real token (pad id 0).
    """

    images: Tensor
    tgt_in: Tensor
    tgt_out: Tensor
    tgt_mask: Tensor
    indices: list[int]

    @property
    def ntokens(self) -> int:
        return int(self.tgt_mask.sum())


@dataclass
class ClipBatch:
    """Clips and their captions, as ``VideoCaptioner.loss`` reads them: frames ``[B, F, 1, H, W]``, the
    targets as in :class:`CaptionBatch`."""

    frames: Tensor
    tgt_in: Tensor
    tgt_out: Tensor
    tgt_mask: Tensor
    indices: list[int]

    @property
    def ntokens(self) -> int:
        return int(self.tgt_mask.sum())


@dataclass
class ImageBatch:
    """Images ``[B, 1, H, W]`` float in [0, 1] and their class ids ``labels [B]``."""

    images: Tensor
    labels: Tensor
    indices: list[int]


def make_caption_batch(pixels: Tensor, caption_ids: Sequence[Sequence[int]], indices: Sequence[int], *,
                       video: bool) -> CaptionBatch | ClipBatch:
    """Scale the pixels and pad the captions (BOS before ``tgt_in``, EOS after ``tgt_out``, as
    :func:`~attnkit.data.make_batch` does for translation targets)."""
    if len(pixels) != len(caption_ids):
        raise ValueError(f"{len(pixels)} images but {len(caption_ids)} captions; they must pair up")
    cls = ClipBatch if video else CaptionBatch
    return cls(_as_float(pixels, video), *_targets(caption_ids), [int(i) for i in indices])


def _targets(caption_ids: Sequence[Sequence[int]]) -> tuple[Tensor, Tensor, Tensor]:
    """``tgt_in`` (BOS + caption), ``tgt_out`` (caption + EOS) and ``tgt_mask``, each ``[B, T]``."""
    tgt_in = pad([[BOS, *t] for t in caption_ids])  # [B, T]
    tgt_out = pad([[*t, EOS] for t in caption_ids])  # [B, T]
    lengths = torch.tensor([len(t) + 1 for t in caption_ids])
    return tgt_in, tgt_out, torch.arange(tgt_out.size(1))[None, :] < lengths[:, None]  # [B, T] bool


def read_image_file(path: str | Path, *, clip: bool = False) -> np.ndarray:
    """An image (``.png``, ``.jpg``, ... or ``.npy`` ``[H, W]`` / ``[H, W, 3|4]``) as uint8 grey ``[H, W]``,
    or with ``clip`` a ``.npy`` clip ``[F, H, W]`` (or ``[F, H, W, 3|4]``) as uint8 ``[F, H, W]``.

    Colour becomes grey (ITU-R 601 luma, as Pillow's ``convert("L")``); float arrays must lie in [0, 1].
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.suffix.lower() != ".npy":
        if clip:
            raise DataError(f"{path}: a video captioner reads clips from .npy files ([F, H, W] frames)")
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as image:
                return np.asarray(image.convert("L"), dtype=np.uint8)
        except (UnidentifiedImageError, OSError) as err:
            raise DataError(f"{path}: not a readable image ({err}); give a PNG or an .npy array") from None
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise DataError(f"{path}: not a readable .npy array ({err})") from None
    return _to_grey_bytes(array, path, 3 if clip else 2)


def _to_grey_bytes(array: np.ndarray, path: Path, dims: int) -> np.ndarray:
    colour = array.ndim == dims + 1 and array.shape[-1] in (3, 4)
    if array.ndim != dims and not colour:
        shape = "[F, H, W]" if dims == 3 else "[H, W]"
        raise DataError(f"{path}: expected an array {shape} (or with a last axis of 3 or 4 colours), got shape "
                        f"{list(array.shape)}")
    if array.dtype == np.uint8:
        scaled = array.astype(np.float64) / 255.0
    elif np.issubdtype(array.dtype, np.floating) and array.size and array.min() >= 0 and array.max() <= 1:
        scaled = array.astype(np.float64)
    else:
        raise DataError(f"{path}: pixels must be uint8, or floats in [0, 1]; got {array.dtype}"
                        + (f" in [{array.min()}, {array.max()}]" if array.size else " (empty)"))
    if colour:
        scaled = scaled[..., :3] @ np.array([0.299, 0.587, 0.114])  # RGB -> luma (ITU-R 601)
    return np.round(scaled * 255.0).astype(np.uint8)


# --------------------------------------------------------------------------- models
def build_vision_model(config: Config, *, vocab_size: int | None = None, num_classes: int | None = None) -> nn.Module:
    """The model of a vision ``config``: a captioner needs ``vocab_size``, a classifier ``num_classes``."""
    m, d = config.model, config.data
    kwargs = m.builder_kwargs()
    if m.task == "caption":
        kwargs["attention_dim"] = kwargs["attention_dim"] or kwargs["hidden_dim"]
        if m.family == "video_captioner":
            kwargs["max_frames"] = d.frames
        return create_model(m.family, tgt_vocab=vocab_size, in_channels=1, **kwargs)
    if m.family == "ram":
        kwargs["core"] = kwargs.pop("cell")
        return create_model("ram", num_classes=num_classes, in_channels=1, image_size=d.image_size, **kwargs)
    return create_model(m.family, num_classes=num_classes, in_channels=1, **kwargs)


class _ImagePredictor:
    """What both predictors share: the model's input size and turning arrays into a batch."""

    config: Config
    video: bool

    def _inputs(self, images: Sequence[np.ndarray], first: int = 0) -> Tensor:
        """uint8 arrays of the model's size (``first``: the index of the first, for messages) -> float
        ``[B, 1, H, W]`` (clips ``[B, F, 1, H, W]``)."""
        d = self.config.data
        expected = (d.frames, d.image_size, d.image_size) if self.video else (d.image_size, d.image_size)
        for i, x in enumerate(images, first + 1):
            if tuple(np.shape(x)) != expected or np.asarray(x).dtype != np.uint8:
                raise DataError(f"input {i}: the model takes uint8 arrays of shape {list(expected)}, got "
                                f"{np.asarray(x).dtype} {list(np.shape(x))}")
        return _as_float(torch.from_numpy(np.stack([np.asarray(x) for x in images])), self.video)

    def fit(self, array: np.ndarray) -> np.ndarray:
        """A uint8 image ``[H, W]`` (or each frame of a clip ``[F, H, W]``) resized (bilinear) to the model's
        ``image_size`` square; anything else is returned as it is, for :meth:`_inputs` to refuse."""
        size = self.config.data.image_size
        if self.video and array.ndim == 3 and array.shape[1:] != (size, size):
            return np.stack([self.fit(frame) for frame in array]) if len(array) else array
        if array.ndim != 2 or array.shape == (size, size) or array.dtype != np.uint8 or 0 in array.shape:
            return array
        from PIL import Image

        return np.asarray(Image.fromarray(array).resize((size, size), Image.BILINEAR), dtype=np.uint8)


# --------------------------------------------------------------------------- captioning
@dataclass
class Caption:
    """One generated caption and the attention that produced it.

    ``attn`` is ``[len(tokens), R]`` over the image's regions (row-major on ``grid = (h, w)``) or
    ``[len(tokens), F]`` over a clip's frames (``grid`` None); row ``t`` is the attention of the step that
    emitted ``tokens[t]``.
    """

    text: str
    tokens: list[str]  # generated words, plus "</s>" when it ended with EOS
    attn: Tensor
    grid: tuple[int, int] | None
    score: float

    def as_dict(self) -> dict:
        return {"text": self.text, "tokens": self.tokens, "grid": self.grid, "score": self.score,
                "attention": [[round(float(x), 4) for x in row] for row in self.attn]}


class ImageCaptioner(_ImagePredictor):
    """A trained captioner (images) or video captioner (clips) with its vocabulary: arrays in,
    :class:`Caption` out (batched greedy or beam search)."""

    def __init__(self, model: nn.Module, tokenizer: Tokenizer, config: Config) -> None:
        self.model, self.tok, self.config = model.eval(), tokenizer, config
        self.video = config.model.family == "video_captioner"

    @classmethod
    def from_dir(cls, model_dir: str | Path) -> ImageCaptioner:
        model_dir = Path(model_dir)
        config = read_model_config(model_dir, "caption")
        tokenizer = load_tokenizer(model_dir, TOKENIZER)
        model = build_vision_model(config, vocab_size=tokenizer.vocab_size)
        load_weights(model, model_dir / "model.safetensors", config.model.family)
        return cls(model, tokenizer, config)

    def grid(self) -> tuple[int, int] | None:
        """The ``(h, w)`` region grid of the model's images; None for clips."""
        size = self.config.data.image_size
        return None if self.video else self.model.encoder.grid_size(size, size)

    @torch.inference_mode()
    def caption(self, images: Sequence[np.ndarray], *, beam: int | None = None,
                batch_size: int | None = None) -> list[Caption]:
        """Captions of uint8 images ``[H, W]`` (clips ``[F, H, W]``) of the model's size; ``beam=1`` is greedy."""
        beam = beam or self.config.decode.beam
        if beam < 1:
            raise ConfigError(f"the beam size must be at least 1, got {beam}")
        bs = batch_size or self.config.decode.batch_size
        out: list[Caption] = []
        for start in range(0, len(images), bs):
            step_model, src, src_mask = search_inputs(self.model, self._inputs(images[start:start + bs], start))
            budget = {"max_len_ratio": 0.0, "max_len_offset": self.config.decode.max_len_offset}
            if beam == 1:
                found = greedy_search(step_model, src, src_mask, **budget)
            else:
                found = beam_search(step_model, src, src_mask, beam=beam,
                                    length_penalty=self.config.decode.length_penalty, **budget)
            out += [self._wrap(hyps[0]) for hyps in found]
        return out

    def _wrap(self, hyp) -> Caption:
        tokens = [self.tok.id_to_piece(i) for i in hyp.tokens] + ["</s>"] * hyp.finished
        return Caption(self.tok.decode(hyp.tokens), tokens, hyp.attn.float().cpu(), self.grid(), hyp.score)

    @torch.inference_mode()
    def align(self, images: Sequence[np.ndarray], captions: Sequence[str], *, batch_size: int | None = None
              ) -> list[Tensor]:
        """Teacher-forced attention while the model reads each given caption: ``[words + 1, R or F]`` per
        example (the last row is the step that predicts EOS)."""
        bs = batch_size or self.config.decode.batch_size
        out = []
        for start in range(0, len(images), bs):
            ids = [self.tok.encode(c) for c in captions[start:start + bs]]
            tgt_in = _targets(ids)[0]  # [B, T]
            attn = self.model(self._inputs(images[start:start + bs], start), tgt_in).attn  # [B, T, R or F]
            out += [attn[b, : len(t) + 1].float().cpu() for b, t in enumerate(ids)]
        return out


def _caption_metrics(captioner: ImageCaptioner, split: VisionSplit, beam: int) -> tuple[dict, list[Caption]]:
    """BLEU and exact match of the generated captions, and the attention scores the corpus has ground
    truth for: pointing (scenes, generated captions) or frame alignment (clips, the gold captions)."""
    images = list(split.pixels.numpy())
    captions = captioner.caption(images, beam=beam)
    metrics = caption_scores([c.text for c in captions], split.captions)
    if captioner.video:
        from attnkit.data.video import event_word_frames

        forced = captioner.align(images, split.captions)
        hits = [frame_hits(a, event_word_frames(clip)) for a, clip in zip(forced, split.items, strict=True)]
        metrics["frame_alignment"], metrics["aligned_words"] = hit_rate(hits), sum(map(len, hits))
    else:
        size = tuple(split.pixels.shape[1:])
        hits = [pointing_hits(c.tokens, c.attn, c.grid, size, scene.labels, scene.boxes, WORDS)
                for c, scene in zip(captions, split.items, strict=True)]
        metrics["pointing"], metrics["pointed_words"] = hit_rate(hits), sum(map(len, hits))
    return metrics, captions


# --------------------------------------------------------------------------- image classification
@dataclass
class ImagePrediction:
    """The class of one image, with RAM's glimpse centres ``[G, 2]`` ((x, y) in [-1, 1], (-1, -1) the
    top-left corner) in the order it took them; None for the CNN, which has no attention."""

    label: str
    probs: dict[str, float]
    glimpses: Tensor | None

    def as_dict(self) -> dict:
        glimpses = None if self.glimpses is None else [[round(float(v), 4) for v in xy] for xy in self.glimpses]
        return {"label": self.label, "probs": self.probs, "glimpses": glimpses}


class ImageClassifierPredictor(_ImagePredictor):
    """A trained ``ram`` or ``cnn_classifier`` with its class names: images in, :class:`ImagePrediction` out."""

    video = False

    def __init__(self, model: nn.Module, labels: LabelSet, config: Config) -> None:
        self.model, self.labels, self.config = model.eval(), labels, config
        self.has_glimpses = config.model.family == "ram"

    @classmethod
    def from_dir(cls, model_dir: str | Path) -> ImageClassifierPredictor:
        model_dir = Path(model_dir)
        config = read_model_config(model_dir, "classify_images")
        labels = LabelSet.load(model_dir / LABELS_FILE)
        model = build_vision_model(config, num_classes=len(labels))
        load_weights(model, model_dir / "model.safetensors", config.model.family)
        return cls(model, labels, config)

    @torch.inference_mode()
    def classify(self, images: Sequence[np.ndarray], *, batch_size: int = 64) -> list[ImagePrediction]:
        """Classes of uint8 images ``[H, W]`` of the model's size (RAM: its policy's mean, deterministic)."""
        names, out = self.labels.names, []
        for start in range(0, len(images), batch_size):
            result = self.model(self._inputs(images[start:start + batch_size], start))
            logits, where = (result.logits, result.locations) if self.has_glimpses else (result, None)
            probs = logits.softmax(-1)  # [B, K]
            for row in range(len(probs)):
                out.append(ImagePrediction(names[int(probs[row].argmax())],
                                           {n: float(p) for n, p in zip(names, probs[row], strict=True)},
                                           None if where is None else where[row].float().cpu()))
        return out


def _image_metrics(predictor: ImageClassifierPredictor, split: VisionSplit,
                   preds: Sequence[ImagePrediction] | None = None) -> dict:
    """Accuracy and macro-F1 (RAM: also glimpse hits) of ``preds``, the predictions of ``split``'s images
    (made here when not given)."""
    preds = predictor.classify(list(split.pixels.numpy())) if preds is None else preds
    if len(preds) != len(split):
        raise ValueError(f"{len(preds)} predictions for {len(split)} images; give one per image")
    gold = [predictor.labels.names[y] for y in split.labels]
    m = classification_metrics(gold, [p.label for p in preds], predictor.labels.names)
    metrics = {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"]}
    if predictor.has_glimpses:
        size = tuple(split.pixels.shape[1:])
        metrics["glimpse_hits"] = hit_rate(glimpse_hits(p.glimpses, box, size)
                                           for p, box in zip(preds, split.boxes, strict=True))
    return metrics


# --------------------------------------------------------------------------- tasks
class _VisionTask(Task):
    """Fixed-size batches of ``train.batch_size`` examples (every image costs the same)."""

    train_set: VisionSplit
    dev_set: VisionSplit

    def _load(self) -> None:
        cfg = self.config
        self.train_set = load_vision_split(cfg.data, "train")
        self.dev_set = load_vision_split(cfg.data, "dev", limit=cfg.train.eval_max_sentences)

    def lengths(self) -> tuple[list[int], list[int]]:
        ones = [1] * len(self.train_set)
        return ones, ones

    def _dev_lengths(self) -> tuple[list[int], list[int]]:
        ones = [1] * len(self.dev_set)
        return ones, ones

    def batches(self, epoch: int) -> list[list[int]]:
        src, tgt = self.lengths()
        return bucket_batches(src, tgt, max_tokens=self.config.train.batch_size, shuffle=True,
                              seed=self.config.seed, epoch=epoch)

    def dev_loss(self, model: nn.Module) -> float:
        if self._dev_batches is None:  # cut by train.batch_size, where the base class would use max_tokens
            n, bs = len(self.dev_set), self.config.train.batch_size
            self._dev_batches = [self.batch(list(range(i, min(i + bs, n))), train=False) for i in range(0, n, bs)]
        return super().dev_loss(model)


class CaptionTask(_VisionTask):
    """Scenes (``captioner``) or clips (``video_captioner``) and their captions; dev metrics from greedy
    captions: BLEU, exact match, and pointing (scenes) or frame alignment (clips)."""

    curve_metrics = ("bleu", "exact_match")

    def prepare(self, resuming: bool) -> None:
        cfg = self.config
        self.video = cfg.model.family == "video_captioner"
        self._load()
        if resuming:
            self.tok = load_tokenizer(self.model_dir, TOKENIZER)
        else:
            t = cfg.data.tokenizer
            self.tok = train_tokenizer("word", self.train_set.captions, vocab_size=t.vocab_size, min_freq=t.min_freq,
                                       directory=self.model_dir, name=TOKENIZER)
        self.train_ids = [self.tok.encode(c) for c in self.train_set.captions]
        self.dev_ids = [self.tok.encode(c) for c in self.dev_set.captions]
        log.info("data: %d train / %d dev %s of %s, vocabulary %d words", len(self.train_set), len(self.dev_set),
                 "clips" if self.video else "images", "x".join(map(str, self.train_set.pixels.shape[1:])),
                 self.tok.vocab_size)

    def batch(self, idx: list[int], *, train: bool = True):
        data, ids = (self.train_set, self.train_ids) if train else (self.dev_set, self.dev_ids)
        return make_caption_batch(data.pixels[idx], [ids[i] for i in idx], idx, video=self.video)

    def build_model(self) -> nn.Module:
        return build_vision_model(self.config, vocab_size=self.tok.vocab_size)

    def dev_metrics(self, model: nn.Module) -> dict:
        metrics, _ = _caption_metrics(ImageCaptioner(model, self.tok, self.config), self.dev_set, beam=1)
        return {k: v for k, v in metrics.items() if not k.endswith("signature")}


class GlimpseTask(_VisionTask):
    """Cluttered images and the class of their item, for ``ram`` and ``cnn_classifier``."""

    curve_metrics = ("accuracy", "macro_f1")

    def prepare(self, resuming: bool) -> None:
        self._load()
        if resuming:
            self.labels = LabelSet.load(self.model_dir / LABELS_FILE)
        else:
            self.labels = LabelSet(WORDS)  # every Fashion-MNIST class, in its own order: id = logit index
            self.labels.save(self.model_dir / LABELS_FILE)
        log.info("data: %d train / %d dev images of %s, %d classes", len(self.train_set), len(self.dev_set),
                 "x".join(map(str, self.train_set.pixels.shape[1:])), len(self.labels))

    def batch(self, idx: list[int], *, train: bool = True):
        data = self.train_set if train else self.dev_set
        return ImageBatch(_as_float(data.pixels[idx], video=False),
                          torch.tensor([data.labels[i] for i in idx], dtype=torch.long), idx)

    def build_model(self) -> nn.Module:
        return build_vision_model(self.config, num_classes=len(self.labels))

    def dev_metrics(self, model: nn.Module) -> dict:
        return _image_metrics(ImageClassifierPredictor(model, self.labels, self.config), self.dev_set)


# --------------------------------------------------------------------------- evaluation
def _save_split_metrics(model_dir: Path, split: str, scores: dict) -> None:
    path = model_dir / "metrics.json"
    saved = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    saved[split] = scores
    write_json(path, saved)


def evaluate_captioner(model_dir: str | Path, *, split: str = "test", beam: int | None = None) -> dict:
    """Caption ``data.eval_size`` images (clips) of ``split``: BLEU-4, exact caption accuracy, and pointing
    accuracy (scenes) or word -> frame alignment accuracy (clips); saved into ``metrics.json``.

    Returns the scores, ``captions`` (the generated texts) and what a report needs: ``task``,
    ``predictions`` (one :class:`Caption` per example, with its attention) and ``data`` (the
    :class:`VisionSplit`: pixels, reference captions and ground truth).
    """
    model_dir = Path(model_dir)
    captioner = ImageCaptioner.from_dir(model_dir)
    beam = beam or captioner.config.decode.beam
    data = load_vision_split(captioner.config.data, split)
    metrics, captions = _caption_metrics(captioner, data, beam)
    scores = {**metrics, "beam": beam, "examples": len(data), "evaluated_on": f"{split} split"}
    _save_split_metrics(model_dir, split, scores)
    return {**scores, "captions": [c.text for c in captions], "task": "caption", "predictions": captions,
            "data": data}


def evaluate_image_classifier(model_dir: str | Path, *, split: str = "test") -> dict:
    """Accuracy and macro-F1 on ``data.eval_size`` images of ``split`` (RAM: also the share of glimpses
    centred on the item); saved into ``metrics.json``.

    Returns the scores and what a report needs: ``task``, ``predictions`` (one :class:`ImagePrediction` per
    image), ``gold`` (the true class names), ``labels`` (every class name, in logit order) and ``data``
    (the :class:`VisionSplit`).
    """
    model_dir = Path(model_dir)
    predictor = ImageClassifierPredictor.from_dir(model_dir)
    data = load_vision_split(predictor.config.data, split)
    preds = predictor.classify(list(data.pixels.numpy()))
    scores = {**_image_metrics(predictor, data, preds), "examples": len(data), "evaluated_on": f"{split} split"}
    _save_split_metrics(model_dir, split, scores)
    names = predictor.labels.names
    return {**scores, "task": "classify_images", "predictions": preds, "gold": [names[y] for y in data.labels],
            "labels": list(names), "data": data}
