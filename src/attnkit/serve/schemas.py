"""The server's limits and the JSON shapes of its requests and answers (these make the OpenAPI schema).

Legend: N sentences (translate), texts/pairs (classify, match) or images/clips (caption, classify_images),
K hypotheses per sentence (n-best), T target tokens (caption: words), S source tokens; a document has
sentences of words; a pair has words A of ``a``, B of ``b``; an image has R = h x w regions, a clip F
frames; RAM takes G glimpses.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AttentionLayer",
    "CaptionRequest",
    "CaptionResponse",
    "CaptionResult",
    "CaptionerInfo",
    "ClassifierInfo",
    "ClassifyRequest",
    "ClassifyResponse",
    "ClassifyResult",
    "ErrorResponse",
    "HealthResponse",
    "Hypothesis",
    "ImageClassResult",
    "ImageClassifierInfo",
    "ImagesRequest",
    "ImagesResponse",
    "Limits",
    "LimitsInfo",
    "MatchRequest",
    "MatchResponse",
    "MatchResult",
    "MatcherInfo",
    "ModelInfo",
    "ModelsResponse",
    "SentenceResult",
    "TextPair",
    "TranslateRequest",
    "TranslateResponse",
]

# Sanity bounds checked while parsing, before the server's own (configurable) :class:`Limits`.
_HARD_MAX_SENTENCES = 10_000
_HARD_MAX_BEAM = 1_000


@dataclass(frozen=True)
class Limits:
    """What one request may ask for; over a limit the server answers 413 or 422, over time 503.

    ``max_chars`` is per text: a sentence to translate (a translation model's own ``data.max_len``
    applies too, whichever is smaller), a document to classify, either text of a pair to match.
    ``max_batch`` counts sentences, documents, pairs, images or clips per request, ``max_beam`` bounds
    beams, ``timeout_s`` bounds the wait for an answer, queueing behind other requests included.
    ``max_image_bytes`` bounds one encoded image (PNG, JPEG...) or all the frames of one clip, and
    ``max_image_pixels`` the width x height of one decoded image.
    """

    max_chars: int = 1000
    max_batch: int = 32
    max_beam: int = 10
    timeout_s: float = 30.0
    max_image_bytes: int = 2_000_000
    max_image_pixels: int = 4096 * 4096

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not value > 0:
                raise ValueError(f"Limits.{name} must be positive, got {value!r}")

    def max_body_bytes(self, texts_per_item: int = 1) -> int:
        """A request body larger than a full batch of full texts (4 bytes a character, JSON slack);
        ``texts_per_item`` is 2 for pairs."""
        return self.max_batch * texts_per_item * (self.max_chars * 4 + 16) + 65_536

    def max_image_body_bytes(self) -> int:
        """A request body larger than a full batch of the largest images (or clips) in base64."""
        return self.max_batch * (self.max_image_bytes * 4 // 3 + 1024) + 65_536


# --------------------------------------------------------------------------- requests
class TranslateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"model": "dates_bahdanau", "sentences": ["3 de marzo de 1998"], "beam": 5, "n_best": 2,
                      "attention": True}]})

    model: str | None = Field(None, min_length=1, max_length=200,
                              description="name from GET /models; may be left out when the server has one model")
    sentences: list[str] = Field(..., min_length=1, max_length=_HARD_MAX_SENTENCES,
                                 description="non-empty sentences; at most the server's max_batch, "
                                             "each at most max_chars characters")
    beam: int | None = Field(None, ge=1, le=_HARD_MAX_BEAM,
                             description="beam size (1 = greedy); default the model's; at most max_beam")
    n_best: int | None = Field(None, ge=1, le=_HARD_MAX_BEAM,
                               description="hypotheses per sentence; default the model's; at most beam")
    attention: bool = Field(False, description="also return tokens and the attention map of every hypothesis")


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"model": "debian_han", "texts": ["A library to parse YAML. It is written in C."],
                      "attention": True}]})

    model: str | None = Field(None, min_length=1, max_length=200,
                              description="a classifier from GET /models; may be left out when the server has one")
    texts: list[str] = Field(..., min_length=1, max_length=_HARD_MAX_SENTENCES,
                             description="non-empty documents (sentences are split by the server); at most the "
                                         "server's max_batch, each at most max_chars characters")
    attention: bool = Field(False, description="also return the words and their word and sentence weights")


class TextPair(BaseModel):
    model_config = ConfigDict(extra="forbid")

    a: str = Field(..., description="non-empty text, at most max_chars characters")
    b: str = Field(..., description="non-empty text, at most max_chars characters")


class MatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"model": "bible_matcher", "pairs": [{"a": "In the beginning God created the heaven.",
                                                           "b": "Au commencement Dieu créa les cieux."}],
                      "attention": True}]})

    model: str | None = Field(None, min_length=1, max_length=200,
                              description="a matcher from GET /models; may be left out when the server has one")
    pairs: list[TextPair] = Field(..., min_length=1, max_length=_HARD_MAX_SENTENCES,
                                  description="text pairs; at most the server's max_batch")
    attention: bool = Field(False, description="also return the words of both texts and their co-attention")


_IMAGE_HELP = ("base64 of an image file (PNG, JPEG, ... as Pillow reads them), or a data: URL; colour becomes "
               "grey and the image is resized to the model's image_size")


class CaptionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"model": "caption_scenes_soft", "images": ["data:image/png;base64,iVBORw0KGgo..."], "beam": 3,
                      "attention": True}]})

    model: str | None = Field(None, min_length=1, max_length=200,
                              description="a captioner from GET /models; may be left out when the server has one")
    images: list[str] | None = Field(None, min_length=1, max_length=_HARD_MAX_SENTENCES,
                                     description=f"image captioners: images, each {_IMAGE_HELP}; at most max_batch")
    clips: list[list[str]] | None = Field(
        None, min_length=1, max_length=_HARD_MAX_SENTENCES,
        description="video captioners: clips, each the model's number of frames in order, every frame as in "
                    "'images'; at most max_batch clips")
    beam: int | None = Field(None, ge=1, le=_HARD_MAX_BEAM,
                             description="beam size (1 = greedy); default the model's; at most max_beam")
    attention: bool = Field(False, description="also return the words and each word's attention over the regions "
                                               "(images) or frames (clips)")


class ImagesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"model": "ram_cluttered", "images": ["data:image/png;base64,iVBORw0KGgo..."],
                      "attention": True}]})

    model: str | None = Field(None, min_length=1, max_length=200,
                              description="an image classifier from GET /models; may be left out when the server "
                                          "has one")
    images: list[str] = Field(..., min_length=1, max_length=_HARD_MAX_SENTENCES,
                              description=f"images, each {_IMAGE_HELP}; at most max_batch")
    attention: bool = Field(False, description="also return where RAM looked (its glimpse centres)")


# --------------------------------------------------------------------------- answers
class AttentionLayer(BaseModel):
    """One layer/head's map, for models with several (the default map is ``Hypothesis.attention``)."""

    layer: int
    head: int
    weights: list[list[float]] = Field(..., description="[T, S] rows = target tokens, columns = source tokens")


class Hypothesis(BaseModel):
    text: str
    score: float = Field(..., description="total log-probability")
    norm_score: float = Field(..., description="score after the length penalty (hypotheses are ranked by it)")
    src_tokens: list[str] | None = Field(None, description="only with attention=true")
    tgt_tokens: list[str] | None = Field(None, description="generated pieces (+ '</s>'); only with attention=true")
    attention: list[list[float]] | None = Field(
        None, description="[T, S] weights rounded to 4 decimals: row i = target token i, column j = source token j")
    attention_layers: list[AttentionLayer] | None = Field(
        None, description="per layer/head maps, for models with several; absent otherwise")


class SentenceResult(BaseModel):
    source: str
    hypotheses: list[Hypothesis] = Field(..., description="[K] best first")


class TranslateResponse(BaseModel):
    model: str
    beam: int
    n_best: int
    translations: list[SentenceResult] = Field(..., description="[N] in request order")
    elapsed_ms: float = Field(..., description="time spent translating, queueing excluded")


class ClassifyResult(BaseModel):
    label: str = Field(..., description="the most probable class")
    probs: dict[str, float] = Field(..., description="every class's probability (4 decimals), in label order")
    tokens: list[list[str]] | None = Field(
        None, description="sentences of words as the model read them (cut at its limits; a flat model: one "
                          "sentence); only with attention=true")
    word_weights: list[list[float]] | None = Field(
        None, description="same nesting as tokens, 4 decimals; each sentence's weights sum to 1 (a flat model: "
                          "the document's); absent for a model that pools without weights")
    sentence_weights: list[float] | None = Field(
        None, description="one per sentence, summing to 1; hierarchical models (han) only")


class ClassifyResponse(BaseModel):
    model: str
    results: list[ClassifyResult] = Field(..., description="[N] in request order")
    elapsed_ms: float = Field(..., description="time spent classifying, queueing excluded")


class MatchResult(BaseModel):
    label: str = Field(..., description="'match' or 'different'")
    probs: dict[str, float] = Field(..., description="both classes' probabilities (4 decimals)")
    tokens_a: list[str] | None = Field(None, description="[A] words of a as the model read them; attention=true")
    tokens_b: list[str] | None = Field(None, description="[B] words of b; only with attention=true")
    attn_ab: list[list[float]] | None = Field(
        None, description="[A, B] row i: how word i of a attends over the words of b (sums to 1), 4 decimals; "
                          "absent for a matcher without co-attention")
    attn_ba: list[list[float]] | None = Field(None, description="[B, A] the other direction")


class MatchResponse(BaseModel):
    model: str
    results: list[MatchResult] = Field(..., description="[N] in request order")
    elapsed_ms: float = Field(..., description="time spent matching, queueing excluded")


class CaptionResult(BaseModel):
    text: str = Field(..., description="the caption")
    score: float = Field(..., description="total log-probability")
    tokens: list[str] | None = Field(None, description="[T] generated words (+ '</s>'); only with attention=true")
    grid: list[int] | None = Field(None, description="[h, w] of the region grid (images); null for clips")
    attention: list[list[float]] | None = Field(
        None, description="[T, R] (images: regions row-major on grid) or [T, F] (clips: frames), 4 decimals; row t "
                          "is the step that emitted tokens[t]; only with attention=true")


class CaptionResponse(BaseModel):
    model: str
    beam: int
    results: list[CaptionResult] = Field(..., description="[N] in request order")
    elapsed_ms: float = Field(..., description="time spent captioning, queueing excluded")


class ImageClassResult(BaseModel):
    label: str = Field(..., description="the most probable class")
    probs: dict[str, float] = Field(..., description="every class's probability (4 decimals), in label order")
    glimpses: list[list[float]] | None = Field(
        None, description="[G, 2] RAM's glimpse centres (x, y) in [-1, 1], (-1, -1) the top-left corner, in the "
                          "order taken; only with attention=true, and never for a CNN (no attention)")


class ImagesResponse(BaseModel):
    model: str
    results: list[ImageClassResult] = Field(..., description="[N] in request order")
    elapsed_ms: float = Field(..., description="time spent classifying, queueing excluded")


class ModelInfo(BaseModel):
    """A translation model (``task: translate``), served at ``POST /translate``."""

    name: str
    task: Literal["translate"] = "translate"
    family: str = Field(..., description="rnn or transformer")
    decoder: str = Field(..., description="bahdanau, luong or none (rnn); transformer")
    score: str | None = Field(..., description="attention score; null for the fixed-context decoder 'none'")
    cell: str | None = Field(None, description="gru or lstm (rnn only)")
    embed_dim: int
    hidden_dim: int | None = Field(None, description="rnn only")
    num_heads: int = Field(1, description="attention heads (1 for the rnn decoders)")
    encoder_layers: int
    decoder_layers: int
    tokenizer: str
    src_vocab: int
    tgt_vocab: int
    beam: int = Field(..., description="default beam size")
    n_best: int = Field(..., description="default hypotheses per sentence")
    max_len: int = Field(..., description="the model's own limit on characters per sentence")


class ClassifierInfo(BaseModel):
    """A document classifier (``task: classify``), served at ``POST /classify``."""

    name: str
    task: Literal["classify"] = "classify"
    family: str = Field(..., description="han (sentences of words) or classifier (a flat Transformer)")
    labels: list[str] = Field(..., description="the classes, in the order of probs")
    pooling: str = Field(..., description="attention, mean, max or cls")
    embed_dim: int
    hidden_dim: int | None = Field(None, description="han only")
    num_heads: int | None = Field(None, description="classifier only")
    encoder_layers: int | None = Field(None, description="classifier only")
    vocab: int = Field(..., description="words in the vocabulary")
    max_sentences: int | None = Field(None, description="sentences read per document (han); later ones are dropped")
    max_words: int = Field(..., description="words read per sentence (han) or per document (classifier)")


class MatcherInfo(BaseModel):
    """A text matcher (``task: match``), served at ``POST /match``."""

    name: str
    task: Literal["match"] = "match"
    family: str = Field("matcher", description="matcher")
    labels: list[str] = Field(..., description="the classes, in the order of probs")
    coattention: bool = Field(..., description="whether answers can carry co-attention matrices")
    score: str = Field(..., description="co-attention affinity: dot or general")
    embed_dim: int
    hidden_dim: int
    vocab: int = Field(..., description="words in the vocabulary")
    max_words: int = Field(..., description="words read per text; later ones are dropped")


class CaptionerInfo(BaseModel):
    """An image or video captioner (``task: caption``), served at ``POST /caption``."""

    name: str
    task: Literal["caption"] = "caption"
    family: str = Field(..., description="captioner (images) or video_captioner (clips)")
    attention: str = Field(..., description="soft or hard (Xu et al. 2015)")
    image_size: int = Field(..., description="side in pixels the model reads; other sizes are resized")
    grid: list[int] | None = Field(None, description="[h, w] region grid of an image (captioner only)")
    frames: int | None = Field(None, description="frames per clip (video_captioner only)")
    vocab: int = Field(..., description="words in the vocabulary")
    beam: int = Field(..., description="default beam size")
    max_words: int = Field(..., description="words per caption at most")


class ImageClassifierInfo(BaseModel):
    """An image classifier (``task: classify_images``), served at ``POST /classify_images``."""

    name: str
    task: Literal["classify_images"] = "classify_images"
    family: str = Field(..., description="ram (recurrent glimpses) or cnn_classifier (no attention)")
    labels: list[str] = Field(..., description="the classes, in the order of probs")
    image_size: int = Field(..., description="side in pixels the model reads; other sizes are resized")
    glimpses: int | None = Field(None, description="glimpses per image (ram only)")
    glimpse_size: int | None = Field(None, description="side in pixels of the sharpest glimpse patch (ram only)")
    scales: int | None = Field(None, description="patches per glimpse, each twice as wide (ram only)")


AnyModelInfo = Annotated[ModelInfo | ClassifierInfo | MatcherInfo | CaptionerInfo | ImageClassifierInfo,
                         Field(discriminator="task")]


class LimitsInfo(BaseModel):
    max_chars: int
    max_batch: int
    max_beam: int
    timeout_s: float
    max_image_bytes: int
    max_image_pixels: int


class ModelsResponse(BaseModel):
    models: list[AnyModelInfo] = Field(
        ..., description="every model with its task: translate, classify, match, caption or classify_images")
    limits: LimitsInfo


class HealthResponse(BaseModel):
    status: str
    models: list[str]


class ErrorResponse(BaseModel):
    detail: str = Field(..., description="what went wrong and what to do")
    limit: str | None = Field(None, description="the limit that was exceeded, e.g. max_chars")
    models: list[str] | None = Field(None, description="the available models (unknown model)")
