"""The server's limits and the JSON shapes of its requests and answers (these make the OpenAPI schema).

Legend: N sentences, K hypotheses per sentence (n-best), T target tokens, S source tokens.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AttentionLayer",
    "ErrorResponse",
    "HealthResponse",
    "Hypothesis",
    "Limits",
    "LimitsInfo",
    "ModelInfo",
    "ModelsResponse",
    "SentenceResult",
    "TranslateRequest",
    "TranslateResponse",
]

# Sanity bounds checked while parsing, before the server's own (configurable) :class:`Limits`.
_HARD_MAX_SENTENCES = 10_000
_HARD_MAX_BEAM = 1_000


@dataclass(frozen=True)
class Limits:
    """What one ``POST /translate`` may ask for; over a limit the server answers 413 or 422, over time 503.

    ``max_chars`` is per sentence (a model's own ``data.max_len`` applies too, whichever is smaller),
    ``max_batch`` counts sentences per request, ``timeout_s`` bounds the wait for a translation,
    queueing behind other requests included.
    """

    max_chars: int = 1000
    max_batch: int = 32
    max_beam: int = 10
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not value > 0:
                raise ValueError(f"Limits.{name} must be positive, got {value!r}")

    @property
    def max_body_bytes(self) -> int:
        """A request body larger than a full batch of full sentences (4 bytes a character, JSON slack)."""
        return self.max_batch * (self.max_chars * 4 + 16) + 65_536


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


class ModelInfo(BaseModel):
    name: str
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


class LimitsInfo(BaseModel):
    max_chars: int
    max_batch: int
    max_beam: int
    timeout_s: float


class ModelsResponse(BaseModel):
    models: list[ModelInfo]
    limits: LimitsInfo


class HealthResponse(BaseModel):
    status: str
    models: list[str]


class ErrorResponse(BaseModel):
    detail: str = Field(..., description="what went wrong and what to do")
    limit: str | None = Field(None, description="the limit that was exceeded, e.g. max_chars")
    models: list[str] | None = Field(None, description="the available models (unknown model)")
