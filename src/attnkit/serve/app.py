"""The REST app over saved model directories, and the explorer page it serves at ``/``.

Models are loaded once, from the directories given at start, each by its task: translation models are
served at ``POST /translate``, document classifiers at ``POST /classify``, text matchers at ``POST /match``,
image and video captioners at ``POST /caption`` and image classifiers (RAM, the CNN) at
``POST /classify_images``; images travel as base64 (or data: URLs) inside the JSON.
A request names a model only by the name it was given there, never by a path. Inference runs in worker
threads, one request at a time (torch already uses every core for one), and a request waits at most
``Limits.timeout_s`` for its answer.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from torch import Tensor

from attnkit import __version__
from attnkit.config import TASK_VERBS, load_config
from attnkit.errors import CheckpointError
from attnkit.serve.schemas import (
    AttentionLayer,
    CaptionerInfo,
    CaptionRequest,
    CaptionResponse,
    CaptionResult,
    ClassifierInfo,
    ClassifyRequest,
    ClassifyResponse,
    ClassifyResult,
    ErrorResponse,
    HealthResponse,
    Hypothesis,
    ImageClassifierInfo,
    ImageClassResult,
    ImagesRequest,
    ImagesResponse,
    Limits,
    LimitsInfo,
    MatcherInfo,
    MatchRequest,
    MatchResponse,
    MatchResult,
    ModelInfo,
    ModelsResponse,
    SentenceResult,
    TranslateRequest,
    TranslateResponse,
)
from attnkit.training import Translation, Translator
from attnkit.training.classify import DocumentClassifier, MatchPrediction, PairMatcher, Prediction
from attnkit.training.labelled import model_task
from attnkit.training.vision import Caption, ImageCaptioner, ImageClassifierPredictor, ImagePrediction

__all__ = ["ApiError", "create_app", "name_models", "serve"]

STATIC_DIR = Path(__file__).parent / "static"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# The page and its assets come from this server only: no CDN, no inline script.
_PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
             "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
log = logging.getLogger("attnkit.serve")
T = TypeVar("T")


class ApiError(Exception):
    """An answer other than 200, with one message saying what was wrong and what to do."""

    def __init__(self, status: int, detail: str, *, limit: str | None = None, models: list[str] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.limit, self.models, self.headers = status, detail, limit, models, headers

    def response(self) -> JSONResponse:
        body = ErrorResponse(detail=self.detail, limit=self.limit, models=self.models)
        return JSONResponse(body.model_dump(exclude_none=True), status_code=self.status, headers=self.headers)


# Each task's endpoint, what its work is called in messages, and what a request holds.
ENDPOINTS = {"translate": "/translate", "classify": "/classify", "match": "/match", "caption": "/caption",
             "classify_images": "/classify_images"}
_KIND = {"translate": "translation", "classify": "classification", "match": "matching", "caption": "captioning",
         "classify_images": "image classification"}
_ITEMS = {"translate": "sentences", "classify": "texts", "match": "pairs", "caption": "images or clips",
          "classify_images": "images"}
_IMAGE_PATHS = ("/caption", "/classify_images")


@dataclass
class _Model:
    info: ModelInfo | ClassifierInfo | MatcherInfo | CaptionerInfo | ImageClassifierInfo
    predictor: Translator | DocumentClassifier | PairMatcher | ImageCaptioner | ImageClassifierPredictor

    @property
    def task(self) -> str:
        return self.info.task


def _load_translator(name: str, model_dir: Path) -> _Model:
    translator = Translator.from_dir(model_dir)  # raises CheckpointError naming the directory
    config = load_config(model_dir / "config.yaml")
    m = config.model
    if m.family == "rnn":
        arch = {"decoder": m.decoder, "score": None if m.decoder == "none" else m.score, "cell": m.cell,
                "hidden_dim": m.hidden_dim}
    else:  # the Transformer: scaled dot-product attention in every layer
        arch = {"decoder": m.family, "score": "scaled_dot", "num_heads": getattr(m, "num_heads", 1)}
    info = ModelInfo(name=name, family=m.family, embed_dim=m.embed_dim, encoder_layers=m.encoder_layers,
                     decoder_layers=m.decoder_layers, tokenizer=translator.src_tok.kind,
                     src_vocab=translator.src_tok.vocab_size, tgt_vocab=translator.tgt_tok.vocab_size,
                     beam=config.decode.beam, n_best=config.decode.n_best, max_len=translator.max_len, **arch)
    return _Model(info, translator)


def _load_classifier(name: str, model_dir: Path) -> _Model:
    classifier = DocumentClassifier.from_dir(model_dir)
    m, d = classifier.config.model, classifier.config.data
    if classifier.hierarchical:
        shape = {"hidden_dim": m.hidden_dim, "max_sentences": d.max_sentences, "max_words": d.max_words}
    else:  # the flat Transformer reads one run of words, cut (as DocumentClassifier cuts it) at its positions
        shape = {"num_heads": m.num_heads, "encoder_layers": m.encoder_layers,
                 "max_words": min(d.max_sentences * d.max_words, m.max_positions)}
    info = ClassifierInfo(name=name, family=m.family, labels=list(classifier.labels.names), pooling=m.pooling,
                          embed_dim=m.embed_dim, vocab=classifier.vocab.vocab_size, **shape)
    return _Model(info, classifier)


def _load_matcher(name: str, model_dir: Path) -> _Model:
    matcher = PairMatcher.from_dir(model_dir)
    m = matcher.config.model
    info = MatcherInfo(name=name, labels=list(matcher.labels.names), coattention=m.coattention, score=m.score,
                       embed_dim=m.embed_dim, hidden_dim=m.hidden_dim, vocab=matcher.vocab.vocab_size,
                       max_words=matcher.config.data.max_words)
    return _Model(info, matcher)


def _load_captioner(name: str, model_dir: Path) -> _Model:
    captioner = ImageCaptioner.from_dir(model_dir)
    m, d = captioner.config.model, captioner.config.data
    grid = captioner.grid()
    info = CaptionerInfo(name=name, family=m.family, attention=m.attention, image_size=d.image_size,
                         grid=None if grid is None else list(grid), frames=d.frames if captioner.video else None,
                         vocab=captioner.tok.vocab_size, beam=captioner.config.decode.beam,
                         max_words=captioner.config.decode.max_len_offset)
    return _Model(info, captioner)


def _load_image_classifier(name: str, model_dir: Path) -> _Model:
    predictor = ImageClassifierPredictor.from_dir(model_dir)
    m = predictor.config.model
    ram = {"glimpses": m.glimpses, "glimpse_size": m.glimpse_size, "scales": m.scales} if predictor.has_glimpses else {}
    info = ImageClassifierInfo(name=name, family=m.family, labels=list(predictor.labels.names),
                               image_size=predictor.config.data.image_size, **ram)
    return _Model(info, predictor)


def _load_model(name: str, model_dir: Path) -> _Model:
    loaders = {"translate": _load_translator, "classify": _load_classifier, "match": _load_matcher,
               "caption": _load_captioner, "classify_images": _load_image_classifier}
    task = model_task(model_dir)  # CheckpointError naming the directory
    if task not in loaders:
        raise CheckpointError(f"{model_dir} holds a {task} model, which the server does not serve; "
                              f"use `{TASK_VERBS[task]}`")
    return loaders[task](name, model_dir)


def name_models(model_dirs: Iterable[str | Path]) -> dict[str, Path]:
    """Name each directory after its last component (``runs/dates_bahdanau`` -> ``dates_bahdanau``);
    a repeated name gets ``-2``, ``-3``... in the order given."""
    named: dict[str, Path] = {}
    for d in model_dirs:
        path = Path(d)
        base = path.resolve().name or "model"
        name, k = base, 1
        while name in named:
            k += 1
            name = f"{base}-{k}"
        named[name] = path
    return named


class _Inference:
    """Runs inference one request at a time (a lock) in worker threads, each awaited with a timeout.

    Work that times out cannot be interrupted inside torch; it finishes in the background and its
    answer is dropped. Work that times out while still waiting for the lock never starts.
    """

    def __init__(self, workers: int = 4) -> None:
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="attnkit-serve")

    async def run(self, fn: Callable[[], T], timeout_s: float) -> T:
        abandoned = threading.Event()

        def job() -> T | None:
            with self._lock:
                return None if abandoned.is_set() else fn()

        future = asyncio.wrap_future(self._pool.submit(job))
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout_s)  # type: ignore[return-value]
        except asyncio.TimeoutError:
            abandoned.set()
            raise

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


# --------------------------------------------------------------------------- request checks
def _pick_model(name: str | None, models: dict[str, _Model], task: str) -> _Model:
    """The model ``name`` (or the server's only model for ``task``), which must do ``task``."""
    names = sorted(models)
    fitting = sorted(n for n, m in models.items() if m.task == task)
    if name is None:
        if len(fitting) == 1:
            return models[fitting[0]]
        if not fitting:
            raise ApiError(422, f"this server has no {_KIND[task]} model for POST {ENDPOINTS[task]}; "
                                f"{_served_at(models)}", models=names)
        raise ApiError(422, f"'model' is required: this server has {len(fitting)} {_KIND[task]} models: "
                            f"{', '.join(fitting)}", models=fitting)
    if name not in models:
        raise ApiError(404, f"unknown model {name!r}; available models: {', '.join(names)}", models=names)
    model = models[name]
    if model.task != task:
        raise ApiError(422, f"model {name!r} is a {_KIND[model.task]} model: send its requests to POST "
                            f"{ENDPOINTS[model.task]}, not POST {ENDPOINTS[task]}", models=fitting or None)
    return model


def _served_at(models: dict[str, _Model]) -> str:
    """Where the server's models are served, for messages: 'a, b at POST /classify; c at POST /match'."""
    groups = [(t, sorted(n for n, m in models.items() if m.task == t)) for t in ENDPOINTS]
    return "; ".join(f"{', '.join(names)} at POST {ENDPOINTS[t]}" for t, names in groups if names)


def _check_sentences(sentences: list[str], model: _Model, limits: Limits) -> None:
    if len(sentences) > limits.max_batch:
        raise ApiError(413, f"{len(sentences)} sentences in one request, over the server's limit "
                            f"max_batch={limits.max_batch}; send them in several requests", limit="max_batch")
    # The smaller of the server's limit and the model's own (what it was trained to read) applies.
    if model.info.max_len < limits.max_chars:
        max_chars, limit, whose = model.info.max_len, "max_len", f"model {model.info.name!r}'s"
    else:
        max_chars, limit, whose = limits.max_chars, "max_chars", "server's"
    for i, s in enumerate(sentences):
        if not s.strip():
            raise ApiError(422, f"sentences[{i}] is empty; every sentence must have some non-space text")
        if len(s) > max_chars:
            raise ApiError(413, f"sentences[{i}] has {len(s)} characters, over the {whose} limit {limit}={max_chars}; "
                                f"split it into shorter sentences", limit=limit)


def _check_texts(texts: Iterable[tuple[str, str]], limits: Limits) -> None:
    """Every text of ``(where, text)`` non-empty and within ``max_chars``; ``where`` names it in messages."""
    for where, text in texts:
        if not text.strip():
            raise ApiError(422, f"{where} is empty; every text must have some non-space text")
        if len(text) > limits.max_chars:
            raise ApiError(413, f"{where} has {len(text)} characters, over the server's limit "
                                f"max_chars={limits.max_chars}; shorten it", limit="max_chars")


def _check_batch(n: int, what: str, limits: Limits) -> None:
    if n > limits.max_batch:
        raise ApiError(413, f"{n} {what} in one request, over the server's limit max_batch={limits.max_batch}; "
                            f"send them in several requests", limit="max_batch")


def _beam(asked: int | None, model: _Model, limits: Limits) -> int:
    """The beam asked for (default: the model's, within the limit), checked against ``max_beam``."""
    beam = asked if asked is not None else min(model.info.beam, limits.max_beam)
    if beam > limits.max_beam:
        raise ApiError(422, f"beam={beam} is over the server's limit max_beam={limits.max_beam}", limit="max_beam")
    return beam


def _search_sizes(req: TranslateRequest, model: _Model, limits: Limits) -> tuple[int, int]:
    beam = _beam(req.beam, model, limits)
    n_best = req.n_best if req.n_best is not None else min(model.info.n_best, beam)
    if n_best > beam:
        raise ApiError(422, f"n_best={n_best} is over beam={beam}: a beam of {beam} keeps at most {beam} "
                            f"hypotheses; raise beam or lower n_best", limit="beam")
    return beam, n_best


def _image_inputs(model: _Model, images: list[str] | None, clips: list[list[str]] | None) -> list:
    """The request's images (or clips), checked against what ``model`` reads: images for an image model,
    clips of exactly its number of frames for a video captioner."""
    video = getattr(model.predictor, "video", False)
    name = model.info.name
    if images is not None and clips is not None:
        raise ApiError(422, "send either 'images' or 'clips', not both")
    if video:
        if clips is None:
            raise ApiError(422, f"model {name!r} captions clips: send 'clips' (lists of {model.info.frames} frames "
                                f"each), not 'images'")
        for i, clip in enumerate(clips):
            if len(clip) != model.info.frames:
                raise ApiError(422, f"clips[{i}] has {len(clip)} frames; model {name!r} reads clips of exactly "
                                    f"{model.info.frames} frames")
        return clips
    if images is None:
        raise ApiError(422, f"model {name!r} reads single images: send 'images', not 'clips'")
    return images


def _decode_image(data: str, where: str, limits: Limits) -> np.ndarray:
    """``data`` (base64 of an image file, or a ``data:`` URL) as uint8 grey pixels ``[H, W]``; an
    :class:`ApiError` naming ``where`` when it is not one, or is over the limits."""
    from PIL import Image, UnidentifiedImageError

    if data.startswith("data:"):
        head, comma, data = data.partition(",")
        if not comma or not head.endswith(";base64"):
            raise ApiError(422, f"{where} is a data: URL without base64 content; send 'data:image/png;base64,...'")
    data = "".join(data.split())  # line-wrapped base64 is fine
    if len(data) > limits.max_image_bytes * 4 // 3 + 4:
        raise ApiError(413, f"{where} is over the server's limit max_image_bytes={limits.max_image_bytes}; send a "
                            f"smaller file (the model reads {where.split('[')[0]} of a few dozen pixels a side)",
                       limit="max_image_bytes")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, f"{where} is not base64; send the image file's bytes base64-encoded, or a data: URL") \
            from None
    if not raw:
        raise ApiError(422, f"{where} is empty; send an image file, base64-encoded")
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if image.width * image.height > limits.max_image_pixels:
                raise ApiError(413, f"{where} is {image.width} x {image.height} pixels, over the server's limit "
                                    f"max_image_pixels={limits.max_image_pixels}; send a smaller image",
                               limit="max_image_pixels")
            return np.asarray(image.convert("L"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as err:
        raise ApiError(422, f"{where} is not an image Pillow can read ({err}); send a PNG or a JPEG") from None


def _decode_inputs(model: _Model, items: list, limits: Limits) -> list[np.ndarray]:
    """Images (``[H, W]``) or clips (``[F, H, W]``), decoded and resized to the model's image size."""
    predictor = model.predictor
    if not getattr(predictor, "video", False):
        return [predictor.fit(_decode_image(x, f"images[{i}]", limits)) for i, x in enumerate(items)]
    clips = []
    for i, clip in enumerate(items):
        if sum(len(frame) for frame in clip) > limits.max_image_bytes * 4 // 3 + 4 * len(clip):
            raise ApiError(413, f"the frames of clips[{i}] are together over the server's limit "
                                f"max_image_bytes={limits.max_image_bytes}; send smaller frames",
                           limit="max_image_bytes")
        clips.append(np.stack([predictor.fit(_decode_image(frame, f"clips[{i}][{f}]", limits))
                               for f, frame in enumerate(clip)]))
    return clips


# --------------------------------------------------------------------------- answers
def _rounded(weights: Tensor) -> list[list[float]]:
    return weights.double().round(decimals=4).tolist()  # [T, S]; float64 so 0.1234 stays 0.1234 in JSON


def _hypothesis(t: Translation, attention: bool) -> Hypothesis:
    if not attention:
        return Hypothesis(text=t.text, score=t.score, norm_score=t.norm_score)
    layers = None
    if t.attn_layers is not None:  # [T, L, H, S]: every decoder layer and head (the Transformer)
        layers = [AttentionLayer(layer=layer, head=head, weights=_rounded(t.attn_layers[:, layer, head]))
                  for layer in range(t.attn_layers.size(1)) for head in range(t.attn_layers.size(2))]
    return Hypothesis(text=t.text, score=t.score, norm_score=t.norm_score, src_tokens=t.src_tokens,
                      tgt_tokens=t.tgt_tokens, attention=_rounded(t.attn), attention_layers=layers)


def _round4(values: list) -> list:
    """Nested lists of floats rounded to 4 decimals (as :func:`_rounded` does for tensors)."""
    return [_round4(v) if isinstance(v, list) else round(float(v), 4) for v in values]


def _classify_result(p: Prediction, attention: bool) -> ClassifyResult:
    probs = {k: round(v, 4) for k, v in p.probs.items()}
    if not attention:
        return ClassifyResult(label=p.label, probs=probs)
    return ClassifyResult(label=p.label, probs=probs, tokens=p.tokens,
                          word_weights=None if p.word_weights is None else _round4(p.word_weights),
                          sentence_weights=None if p.sentence_weights is None else _round4(p.sentence_weights))


def _match_result(p: MatchPrediction, attention: bool) -> MatchResult:
    probs = {k: round(v, 4) for k, v in p.probs.items()}
    if not attention:
        return MatchResult(label=p.label, probs=probs)
    return MatchResult(label=p.label, probs=probs, tokens_a=p.tokens_a, tokens_b=p.tokens_b,
                       attn_ab=None if p.attn_ab is None else _round4(p.attn_ab),
                       attn_ba=None if p.attn_ba is None else _round4(p.attn_ba))


def _caption_result(c: Caption, attention: bool) -> CaptionResult:
    if not attention:
        return CaptionResult(text=c.text, score=c.score)
    return CaptionResult(text=c.text, score=c.score, tokens=c.tokens, grid=None if c.grid is None else list(c.grid),
                         attention=_rounded(c.attn))


def _image_class_result(p: ImagePrediction, attention: bool) -> ImageClassResult:
    probs = {k: round(v, 4) for k, v in p.probs.items()}
    glimpses = _rounded(p.glimpses) if attention and p.glimpses is not None else None
    return ImageClassResult(label=p.label, probs=probs, glimpses=glimpses)


# --------------------------------------------------------------------------- routes
def _error_docs(task: str) -> dict[int | str, dict[str, Any]]:
    items = _ITEMS[task]
    invalid = {"translate": "n_best > beam, empty text, ", "caption": "not an image, wrong number of frames, ",
               "classify_images": "not an image, "}.get(task, "empty text, ")
    too_long = "too large" if task in ("caption", "classify_images") else "too long"
    return {code: {"model": ErrorResponse, "description": text}
            for code, text in ((404, "unknown model"), (413, f"too many or {too_long} {items}"),
                               (422, f"invalid request (bounds, {invalid}a model of another task)"),
                               (503, f"the {_KIND[task]} did not finish within timeout_s"))}


async def _timed(inference: _Inference, work: Callable[[], T], task: str, limits: Limits) -> tuple[T, float]:
    """``work()`` on the inference thread, with the milliseconds it took; 503 when it is not done in time."""
    def timed() -> tuple[T, float]:
        start = time.perf_counter()
        out = work()
        return out, round((time.perf_counter() - start) * 1000, 2)

    try:
        return await inference.run(timed, limits.timeout_s)
    except asyncio.TimeoutError:
        raise ApiError(503, f"the {_KIND[task]} did not finish within the server's limit "
                            f"timeout_s={limits.timeout_s:g}; the server may be busy: retry later, or send fewer "
                            f"or smaller {_ITEMS[task]}", limit="timeout_s",
                       headers={"Retry-After": str(max(1, round(limits.timeout_s)))}) from None


def _add_translate(app: FastAPI, models: dict[str, _Model], limits: Limits, inference: _Inference) -> None:
    @app.post("/translate", response_model=TranslateResponse, response_model_exclude_none=True,
              responses=_error_docs("translate"), tags=["translate"])
    async def translate(req: TranslateRequest) -> TranslateResponse:
        """Translate sentences; with ``attention: true`` each hypothesis carries its tokens and attention map."""
        model = _pick_model(req.model, models, "translate")
        _check_sentences(req.sentences, model, limits)
        beam, n_best = _search_sizes(req, model, limits)

        def work() -> list[SentenceResult]:
            results = model.predictor.translate(req.sentences, beam=beam, n_best=n_best, all_heads=req.attention)
            return [SentenceResult(source=s, hypotheses=[_hypothesis(t, req.attention) for t in hyps])
                    for s, hyps in zip(req.sentences, results, strict=True)]

        translations, elapsed_ms = await _timed(inference, work, "translate", limits)
        return TranslateResponse(model=model.info.name, beam=beam, n_best=n_best, translations=translations,
                                 elapsed_ms=elapsed_ms)


def _add_classify(app: FastAPI, models: dict[str, _Model], limits: Limits, inference: _Inference) -> None:
    @app.post("/classify", response_model=ClassifyResponse, response_model_exclude_none=True,
              responses=_error_docs("classify"), tags=["classify"])
    async def classify(req: ClassifyRequest) -> ClassifyResponse:
        """Classify documents; with ``attention: true`` each result carries its words with their word weights
        and, for hierarchical models, sentence weights (Yang et al. 2016)."""
        model = _pick_model(req.model, models, "classify")
        _check_batch(len(req.texts), "texts", limits)
        _check_texts(((f"texts[{i}]", t) for i, t in enumerate(req.texts)), limits)

        def work() -> list[ClassifyResult]:
            predictions = model.predictor.classify(req.texts, attention=req.attention)
            return [_classify_result(p, req.attention) for p in predictions]

        results, elapsed_ms = await _timed(inference, work, "classify", limits)
        return ClassifyResponse(model=model.info.name, results=results, elapsed_ms=elapsed_ms)


def _add_match(app: FastAPI, models: dict[str, _Model], limits: Limits, inference: _Inference) -> None:
    @app.post("/match", response_model=MatchResponse, response_model_exclude_none=True,
              responses=_error_docs("match"), tags=["match"])
    async def match(req: MatchRequest) -> MatchResponse:
        """Decide whether each pair of texts matches; with ``attention: true`` each result carries the words
        of both texts and the co-attention between them, in both directions."""
        model = _pick_model(req.model, models, "match")
        _check_batch(len(req.pairs), "pairs", limits)
        _check_texts(((f"pairs[{i}].{side}", getattr(p, side)) for i, p in enumerate(req.pairs) for side in "ab"),
                     limits)
        pairs = [(p.a, p.b) for p in req.pairs]

        def work() -> list[MatchResult]:
            return [_match_result(p, req.attention) for p in model.predictor.match(pairs, attention=req.attention)]

        results, elapsed_ms = await _timed(inference, work, "match", limits)
        return MatchResponse(model=model.info.name, results=results, elapsed_ms=elapsed_ms)


def _add_caption(app: FastAPI, models: dict[str, _Model], limits: Limits, inference: _Inference) -> None:
    @app.post("/caption", response_model=CaptionResponse, response_model_exclude_none=True,
              responses=_error_docs("caption"), tags=["caption"])
    async def caption(req: CaptionRequest) -> CaptionResponse:
        """Caption images (or clips, for a video captioner); with ``attention: true`` each caption carries its
        words and, for every word, the attention over the image's regions or the clip's frames."""
        model = _pick_model(req.model, models, "caption")
        items = _image_inputs(model, req.images, req.clips)
        _check_batch(len(items), "clips" if req.clips is not None else "images", limits)
        beam = _beam(req.beam, model, limits)

        def work() -> list[CaptionResult]:
            captions = model.predictor.caption(_decode_inputs(model, items, limits), beam=beam)
            return [_caption_result(c, req.attention) for c in captions]

        results, elapsed_ms = await _timed(inference, work, "caption", limits)
        return CaptionResponse(model=model.info.name, beam=beam, results=results, elapsed_ms=elapsed_ms)


def _add_classify_images(app: FastAPI, models: dict[str, _Model], limits: Limits, inference: _Inference) -> None:
    @app.post("/classify_images", response_model=ImagesResponse, response_model_exclude_none=True,
              responses=_error_docs("classify_images"), tags=["classify_images"])
    async def classify_images(req: ImagesRequest) -> ImagesResponse:
        """Classify images; with ``attention: true`` a RAM's results carry where it looked (its glimpses)."""
        model = _pick_model(req.model, models, "classify_images")
        _check_batch(len(req.images), "images", limits)

        def work() -> list[ImageClassResult]:
            predictions = model.predictor.classify(_decode_inputs(model, req.images, limits))
            return [_image_class_result(p, req.attention) for p in predictions]

        results, elapsed_ms = await _timed(inference, work, "classify_images", limits)
        return ImagesResponse(model=model.info.name, results=results, elapsed_ms=elapsed_ms)


def _add_routes(app: FastAPI, models: dict[str, _Model], limits: Limits, inference: _Inference) -> None:
    @app.get("/health", response_model=HealthResponse, tags=["server"])
    async def health() -> HealthResponse:
        return HealthResponse(status="ok", models=list(models))

    @app.get("/models", response_model=ModelsResponse, tags=["server"])
    async def list_models() -> ModelsResponse:
        """Every model with its task and the endpoint that serves it, and the server's limits."""
        return ModelsResponse(models=[m.info for m in models.values()], limits=LimitsInfo(**asdict(limits)))

    _add_translate(app, models, limits, inference)
    _add_classify(app, models, limits, inference)
    _add_match(app, models, limits, inference)
    _add_caption(app, models, limits, inference)
    _add_classify_images(app, models, limits, inference)

    @app.get("/", include_in_schema=False)
    async def explorer() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html",
                            headers={"Content-Security-Policy": _PAGE_CSP, "Cache-Control": "no-cache"})


def _add_error_handlers(app: FastAPI, limits: Limits) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        found = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                 for e in exc.errors()]
        where = "; ".join("the body is not valid JSON" if e["type"] == "json_invalid" else
                          f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}"
                          for e in found)
        return JSONResponse({"detail": f"invalid request: {where}", "errors": found}, status_code=422)

    @app.middleware("http")
    async def body_size(request: Request, call_next):
        size = request.headers.get("content-length")
        if request.url.path in _IMAGE_PATHS:
            most = limits.max_image_body_bytes()
            what = f"images or clips of max_image_bytes={limits.max_image_bytes} in base64"
        else:
            per_item = 2 if request.url.path == "/match" else 1  # a pair is two texts
            most = limits.max_body_bytes(per_item)
            what = f"{'pairs' if per_item == 2 else 'texts'} of max_chars={limits.max_chars}"
        if size is not None and size.isdigit() and int(size) > most:
            return ApiError(413, f"request body of {size} bytes is over {most} bytes (max_batch={limits.max_batch} "
                                 f"{what})", limit="max_batch").response()
        return await call_next(request)


def create_app(model_dirs: dict[str, Path], *, limits: Limits | None = None) -> FastAPI:
    """The app serving the models in ``model_dirs`` (name -> model directory), loaded now.

    Each is loaded by its task (translate, classify, match, caption, classify_images). Raises
    :class:`attnkit.errors.CheckpointError`
    (naming the directory) for a directory that is not a model.
    """
    if not model_dirs:
        raise ValueError("create_app needs at least one model directory")
    limits = limits or Limits()
    models = {name: _load_model(name, Path(d)) for name, d in model_dirs.items()}
    inference = _Inference()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        inference.close()

    app = FastAPI(title="attnkit", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Translate, classify documents, match texts, caption images and clips and "
                              "classify images with saved attnkit models, and get their attention: `GET /models` "
                              "says which endpoint serves each model. The explorer page is at `/`.",
                  openapi_tags=[{"name": "server", "description": "health, models and limits"},
                                {"name": "translate", "description": "translation models (rnn, transformer)"},
                                {"name": "classify", "description": "document classifiers (han, classifier)"},
                                {"name": "match", "description": "text matchers (matcher)"},
                                {"name": "caption", "description": "image and video captioners (captioner, "
                                                                   "video_captioner)"},
                                {"name": "classify_images", "description": "image classifiers (ram, cnn_classifier)"}])
    _add_error_handlers(app, limits)
    _add_routes(app, models, limits, inference)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def serve(model_dirs: dict[str, Path], host: str = "127.0.0.1", port: int = 8000, limits: Limits | None = None,
          *, log_level: str = "info") -> None:
    """Load the models and serve them with uvicorn until interrupted (Ctrl-C)."""
    import uvicorn

    app = create_app(model_dirs, limits=limits)
    if host not in LOOPBACK:
        log.warning("serving on %s: anyone who can reach this address can use the models (no authentication)", host)
    print(f"attnkit serve: {len(model_dirs)} model(s) ({', '.join(model_dirs)}); explorer at "
          f"http://{'[' + host + ']' if ':' in host else host}:{port}/", flush=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
