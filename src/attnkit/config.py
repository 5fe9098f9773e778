"""Configuration: YAML -> validated, typed objects. Every default lives here.

A config has four sections (``data``, ``model``, ``train``, ``decode``) plus ``name`` and ``seed``.
The model family decides the task (:data:`TASKS`): ``rnn``/``transformer`` translate, ``han`` and
``classifier`` classify documents, ``matcher`` decides whether two texts match, ``captioner`` and
``video_captioner`` caption generated scenes and clips, ``ram`` and ``cnn_classifier`` name the item of a
cluttered image.
Unknown keys are errors that name the key and suggest the closest valid one; ``key=value`` overrides
from the command line use dotted paths (``train.max_steps=2000``).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from attnkit.errors import ConfigError

__all__ = [
    "TASKS",
    "Config",
    "DataConfig",
    "DecodeConfig",
    "ModelConfig",
    "TokenizerConfig",
    "TrainConfig",
    "apply_overrides",
    "dump_config",
    "load_config",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class TokenizerConfig(_Section):
    kind: Literal["char", "word", "sentencepiece"] = "char"
    vocab_size: int = Field(8000, gt=4, description="sentencepiece only; char/word take what the data has")
    model_type: Literal["bpe", "unigram"] = "bpe"
    min_freq: int = Field(1, ge=1)
    shared: bool = False  # one vocabulary for source and target
    oov_buckets: int = Field(0, ge=0, description="classification/matching: hashed ids for words outside the "
                                                  "vocabulary (0: they are all <unk>)")


class FilesConfig(_Section):
    src: Path
    tgt: Path | None = None  # None: ``src`` is a TSV file (source<TAB>target)


TRANSLATION_CORPORA = ("dates", "bible", "files")
CLASSIFICATION_CORPORA = ("debian", "wordnet", "fortunes", "files")
MATCHING_CORPORA = ("bible_match", "files")
CAPTION_CORPORA = ("scenes", "clips")
IMAGE_CORPORA = ("cluttered",)
# The generated vision corpora and the data keys each one reads (the others are errors there).
VISION_DATA_KEYS = {"scenes": frozenset({"image_size", "objects", "eval_size"}),
                    "clips": frozenset({"image_size", "frames", "events", "eval_size"}),
                    "cluttered": frozenset({"image_size", "clutter", "eval_size"})}
DEFAULT_IMAGE_SIZE = {"scenes": 64, "clips": 48, "cluttered": 60}
MIN_IMAGE_SIZE = {"scenes": 56, "clips": 42, "cluttered": 28}  # a 2 x 2 grid of items, 3 x 3 half items, one item
DEFAULT_VISION_TRAIN_SIZE = 20000


class DataConfig(_Section):
    corpus: Literal["dates", "bible", "files", "debian", "wordnet", "fortunes", "bible_match", "scenes", "clips",
                    "cluttered"] = "dates"
    train: FilesConfig | None = None  # corpus=files
    dev: FilesConfig | None = None
    test: FilesConfig | None = None
    src_lang: str = "es"  # bible: es or en
    tgt_lang: str = "en"
    english: Literal["kjv", "web"] = "kjv"  # bible: which English translation
    train_size: int | None = Field(None, gt=0, description=(
        "dates: number of training pairs; scenes/clips/cluttered: generated training examples (default "
        f"{DEFAULT_VISION_TRAIN_SIZE})"))
    max_len: int = Field(400, gt=0, description="pairs longer than this (characters) are skipped")
    tokenizer: TokenizerConfig = TokenizerConfig()
    # classification and matching
    text_field: str = "text"  # corpus=files: column / key of the text (matching: text_a and text_b)
    label_field: str = "label"
    match: Literal["paraphrase", "translation"] = "paraphrase"  # bible_match: KJV vs WEB, or Spanish vs KJV
    max_sentences: int = Field(30, gt=0, description="classification: sentences kept per document")
    max_words: int = Field(60, gt=0, description="classification: words kept per sentence; matching: per text")
    # generated vision corpora (scenes, clips, cluttered); each reads only its keys of VISION_DATA_KEYS
    image_size: int | None = Field(None, gt=0, description="canvas side in pixels (default 64 / 48 / 60)")
    eval_size: int = Field(1000, gt=0, description="generated dev and test examples (each)")
    objects: tuple[int, int] = Field((2, 3), description="scenes: objects per scene, an inclusive range in 1-4")
    frames: int = Field(12, gt=0, description="clips: frames per clip")
    events: tuple[int, int] = Field((2, 3), description="clips: events per clip, an inclusive range in 1-4")
    clutter: int = Field(4, ge=0, description="cluttered: 8 x 8 distractor patches per image")

    @model_validator(mode="after")
    def _files_given(self) -> DataConfig:
        if self.corpus == "files" and (self.train is None or self.dev is None):
            raise ValueError("data.corpus=files needs data.train and data.dev ({src: ..., tgt: ...})")
        return self

    @model_validator(mode="after")
    def _vision_keys(self) -> DataConfig:
        own = VISION_DATA_KEYS.get(self.corpus, frozenset())
        every = frozenset().union(*VISION_DATA_KEYS.values())
        stray = sorted(self.model_fields_set & (every - own))
        if stray:
            where = f"its keys: {', '.join(sorted(own))}" if own else "it is not a generated image corpus"
            raise ValueError(f"data.{stray[0]} does not apply to corpus '{self.corpus}' ({where})")
        for key in ("objects", "events"):
            lo, hi = getattr(self, key)
            if not 1 <= lo <= hi <= 4:
                raise ValueError(f"data.{key} must be a range [lo, hi] with 1 <= lo <= hi <= 4, got [{lo}, {hi}]")
        if self.corpus in VISION_DATA_KEYS:
            if self.image_size is None:
                self.image_size = DEFAULT_IMAGE_SIZE[self.corpus]
            if self.image_size < MIN_IMAGE_SIZE[self.corpus]:
                raise ValueError(f"data.image_size={self.image_size} is too small for corpus '{self.corpus}' "
                                 f"(at least {MIN_IMAGE_SIZE[self.corpus]}: its items are 28 x 28 pixels)")
            if self.corpus == "clips" and self.frames < 1 + 2 * self.events[1]:
                raise ValueError(f"data.frames={self.frames} is too few for {self.events[1]} events: every event "
                                 f"takes two frames after the first, so give at least {1 + 2 * self.events[1]}")
            if self.train_size is None:
                self.train_size = DEFAULT_VISION_TRAIN_SIZE
        return self


RNN_KEYS = frozenset({"cell", "decoder", "score", "input_feeding", "readout", "embed_dim", "hidden_dim",
                      "attention_dim", "encoder_layers", "decoder_layers", "dropout", "tie_embeddings"})
TRANSFORMER_KEYS = frozenset({"embed_dim", "num_heads", "ff_dim", "encoder_layers", "decoder_layers", "dropout",
                              "norm_first", "positions", "max_positions", "share_embeddings", "tie_embeddings",
                              "align_layer", "attention_dropout"})
# how a fresh run initialises the word embedding (training/classify.py reads them; the builders never do)
WORD_VECTOR_KEYS = frozenset({"word_vectors", "word2vec_epochs", "word2vec_window"})
HAN_KEYS = frozenset({"embed_dim", "hidden_dim", "attention_dim", "pooling", "dropout"}) | WORD_VECTOR_KEYS
CLASSIFIER_KEYS = frozenset({"embed_dim", "num_heads", "ff_dim", "encoder_layers", "dropout", "norm_first",
                             "positions", "max_positions", "pooling", "attention_dropout"}) | WORD_VECTOR_KEYS
MATCHER_KEYS = frozenset({"embed_dim", "hidden_dim", "coattention", "coattention_words", "score",
                          "dropout"}) | WORD_VECTOR_KEYS
_DECODER_KEYS = frozenset({"channels", "convs_per_block", "embed_dim", "hidden_dim", "attention_dim", "attention",
                           "doubly_stochastic", "entropy_bonus", "dropout", "readout"})
CAPTIONER_KEYS = _DECODER_KEYS | {"region_positions"}
VIDEO_CAPTIONER_KEYS = _DECODER_KEYS | {"frame_pool", "frame_motion", "frame_difference"}
RAM_KEYS = frozenset({"glimpse_size", "scales", "glimpses", "hidden_dim", "cell", "location_std", "glimpse_net",
                      "every_glimpse"})
CNN_KEYS = frozenset({"channels", "convs_per_block", "dropout"})
FAMILY_KEYS = {"rnn": RNN_KEYS, "transformer": TRANSFORMER_KEYS, "han": HAN_KEYS, "classifier": CLASSIFIER_KEYS,
               "matcher": MATCHER_KEYS, "captioner": CAPTIONER_KEYS, "video_captioner": VIDEO_CAPTIONER_KEYS,
               "ram": RAM_KEYS, "cnn_classifier": CNN_KEYS}
TASKS = {"rnn": "translate", "transformer": "translate", "han": "classify", "classifier": "classify",
         "matcher": "match", "captioner": "caption", "video_captioner": "caption", "ram": "classify_images",
         "cnn_classifier": "classify_images"}
VISION_TASKS = ("caption", "classify_images")
TASK_VERBS = {"translate": "attnkit translate", "classify": "attnkit classify", "match": "attnkit match",
              "caption": "attnkit caption", "classify_images": "attnkit caption"}  # the verb that runs each task
DEFAULT_METRIC = {"translate": "bleu", "classify": "macro_f1", "match": "accuracy", "caption": "bleu",
                  "classify_images": "accuracy"}
TASK_METRICS = {"translate": ("exact_match", "bleu", "chrf", "loss"), "classify": ("accuracy", "macro_f1", "loss"),
                "match": ("accuracy", "macro_f1", "loss"), "caption": ("exact_match", "bleu", "loss"),
                "classify_images": ("accuracy", "macro_f1", "loss")}
TASK_CORPORA = {"translate": TRANSLATION_CORPORA, "classify": CLASSIFICATION_CORPORA, "match": MATCHING_CORPORA,
                "caption": CAPTION_CORPORA, "classify_images": IMAGE_CORPORA}
FAMILY_CORPORA = {"captioner": ("scenes",), "video_captioner": ("clips",)}  # narrower than their task's


class ModelConfig(_Section):
    family: Literal["rnn", "transformer", "han", "classifier", "matcher", "captioner", "video_captioner", "ram",
                    "cnn_classifier"] = "rnn"
    # shared
    embed_dim: int = Field(64, gt=0, description="embedding size; the model dim D of a Transformer")
    encoder_layers: int = Field(1, ge=1)
    decoder_layers: int = Field(1, ge=1)
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    tie_embeddings: bool = False  # decoder input embedding shared with the output projection
    # rnn
    cell: Literal["gru", "lstm"] = "gru"
    decoder: Literal["bahdanau", "luong", "none"] = "bahdanau"
    score: Literal["additive", "dot", "general", "concat"] = "additive"
    input_feeding: bool = True  # luong only
    readout: Literal["state", "context"] = Field("state", description=(
        "rnn (bahdanau decoder), captioner, video_captioner: what the output layer reads besides the "
        "attention context and the previous token. state = the new decoder state too; context = not the "
        "state, so every prediction has to come through the attention (sharper alignments; docs/alignment.md)"))
    hidden_dim: int = Field(128, gt=0)
    attention_dim: int | None = Field(None, gt=0, description="A of additive/concat scores; default hidden_dim")
    # transformer
    num_heads: int = Field(4, ge=1)
    ff_dim: int = Field(512, gt=0)
    norm_first: bool = True  # pre-LN (True) or post-LN as in Vaswani et al. (False)
    attention_dropout: float | None = Field(None, ge=0.0, lt=1.0, description=(
        "dropout on the attention weights of transformer and classifier layers; default: dropout. 0 lets "
        "training use the fused scaled-dot-product kernel"))
    positions: Literal["sinusoidal", "learned"] = "sinusoidal"
    max_positions: int = Field(1024, gt=0)
    share_embeddings: bool = False  # one embedding for source and target (needs data.tokenizer.shared)
    align_layer: int = Field(-2, description="decoder layer whose head-averaged cross-attention is the alignment")
    # classifiers (han, classifier) and the matcher
    pooling: Literal["attention", "mean", "max", "cls"] = "attention"  # han: attention/mean/max; classifier: not max
    coattention: bool = True  # matcher: False = the same encoders compared without co-attention
    coattention_words: bool = Field(False, description=(
        "matcher: co-attend over each word's embedding beside its encoder state (affinity, summaries and "
        "comparison), not over the encoder states alone; needs coattention"))
    word_vectors: Literal["none", "word2vec"] = Field("none", description=(
        "han, classifier, matcher: initial word embeddings. none = random; word2vec = skip-gram vectors "
        "(gensim, size embed_dim) trained on the training split's text when a run starts (not on resume), as "
        "Yang et al. 2016 do; words without a vector keep their random row"))
    word2vec_epochs: int = Field(5, ge=1, description="word_vectors=word2vec: passes over the training text")
    word2vec_window: int = Field(5, ge=1, description="word_vectors=word2vec: largest word-to-context distance")
    # vision: the CNN of captioner, video_captioner and cnn_classifier (one 2 x 2 pool per block)
    channels: tuple[int, ...] = Field((32, 64, 128), min_length=1, description="output channels of each CNN block")
    convs_per_block: int = Field(1, ge=1)
    # captioners (Xu et al. 2015); rnn's attention_dim is the A of their additive score
    attention: Literal["soft", "hard"] = "soft"
    doubly_stochastic: float = Field(1.0, ge=0, description="soft: lambda of the doubly stochastic penalty (eq. 14)")
    entropy_bonus: float = Field(0.01, ge=0, description="hard: weight of the entropy bonus of section 4.1")
    region_positions: bool = Field(False, description=(
        "captioner: add a learned map of each region's grid coordinates to its features, so that the "
        "attended context says where the model looked"))
    frame_pool: Literal["mean", "grid"] = Field("mean", description=(
        "video_captioner: a frame's features averaged over the whole grid, or over a 3 x 3 grid of cells "
        "kept apart (then it says where things are)"))
    frame_motion: bool = Field(False, description=(
        "video_captioner: the change from the previous frame's features beside each frame's own"))
    frame_difference: bool = Field(False, description=(
        "video_captioner: the CNN sees each frame together with its pixel-wise difference from the previous "
        "frame (extra input channels), so its features say what changed where"))
    # ram (Mnih et al. 2014); rnn's cell is its core network, hidden_dim its size
    glimpse_size: int = Field(12, gt=0, description="side in pixels of the sharpest glimpse patch")
    scales: int = Field(3, ge=1, description="patches per glimpse, each twice as wide as the one before")
    glimpses: int = Field(6, ge=1)
    location_std: float = Field(0.15, gt=0, description="standard deviation of the location policy")
    glimpse_net: Literal["mlp", "conv"] = Field("mlp", description=(
        "ram: the glimpse network's 'what' path: mlp = one linear layer over the flattened patches (Mnih et al. "
        "2014), conv = a small CNN over them (scales as channels), as in Ba et al. 2015"))
    every_glimpse: bool = Field(False, description=(
        "ram: classify after every glimpse (cross-entropy averaged over the glimpses) and reward each location "
        "by the mean correctness from its glimpse on; the prediction is still the last glimpse's"))

    @model_validator(mode="after")
    def _keys_fit_family(self) -> ModelConfig:
        allowed = FAMILY_KEYS[self.family]
        stray = sorted(self.model_fields_set - allowed - {"family"})
        if stray:
            raise ValueError(f"model.{stray[0]} does not apply to family '{self.family}' "
                             f"(its keys: {', '.join(sorted(allowed))})")
        if self.family == "han" and self.pooling == "cls":
            raise ValueError("model.pooling=cls needs family 'classifier'; han pools with attention, mean or max")
        if self.family == "classifier" and self.pooling == "max":
            raise ValueError("model.pooling=max is han only; the classifier pools with attention, mean or cls")
        if self.family == "matcher" and "score" not in self.model_fields_set:
            self.score = "dot"  # the rnn default (additive) is no co-attention affinity
        if self.family == "matcher" and self.coattention_words and not self.coattention:
            raise ValueError("model.coattention_words=true needs model.coattention=true (it changes what is "
                             "co-attended); drop one of the two")
        if self.family == "matcher" and self.score not in ("dot", "general"):
            raise ValueError(f"model.score={self.score} cannot be a co-attention affinity; choose dot or general")
        if any(c <= 0 for c in self.channels):
            raise ValueError(f"model.channels must all be positive, got {list(self.channels)}")
        if self.family == "rnn" and self.readout != "state" and self.decoder != "bahdanau":
            raise ValueError(f"model.readout={self.readout} applies to decoder 'bahdanau' only, not "
                             f"'{self.decoder}'; drop model.readout or set model.decoder=bahdanau")
        if self.family in ("transformer", "classifier") and self.embed_dim % self.num_heads:
            raise ValueError(f"model.embed_dim={self.embed_dim} must be divisible by model.num_heads={self.num_heads}")
        return self

    def builder_kwargs(self) -> dict:
        """The keyword arguments of this family's builder (the other family's keys left out); for han,
        classifier and matcher also the WORD_VECTOR_KEYS, which config.yaml keeps and the caller drops."""
        keys = FAMILY_KEYS[self.family]
        return {k: v for k, v in self.model_dump().items() if k in keys}

    @property
    def task(self) -> str:
        return TASKS[self.family]


class TrainConfig(_Section):
    max_tokens: int = Field(4096, gt=0, description="padded target+source tokens per batch (text tasks)")
    batch_size: int | None = Field(None, gt=0, description=(
        "vision tasks: images (or clips) per batch, default 32; text tasks: at most this many examples per "
        "batch besides max_tokens (default: no cap)"))
    max_steps: int = Field(10000, gt=0)
    max_epochs: int | None = Field(None, gt=0)
    time_limit_minutes: float | None = Field(None, gt=0)
    lr: float = Field(1e-3, gt=0)
    schedule: Literal["constant", "warmup", "plateau", "warmup_plateau", "inverse_sqrt"] = "warmup_plateau"
    warmup_steps: int = Field(200, ge=0)
    plateau_factor: float = Field(0.5, gt=0, lt=1)
    plateau_patience: int = Field(2, ge=0, description="evaluations without improvement before decaying")
    min_lr: float = Field(1e-5, ge=0)
    label_smoothing: float = Field(0.1, ge=0, lt=1)
    guided_alignment: float = Field(0.0, ge=0, description=(
        "weight lambda of guided alignment (supervised attention; Chen et al. 2016): adds lambda * "
        "cross-entropy between the gold alignment (uniform over each target token's possible links) and the "
        "attention to the training loss; needs a corpus with gold alignments (dates); 0 = off"))
    coverage_penalty: float = Field(0.0, ge=0, description=(
        "weight lambda of the coverage penalty (See et al. 2017): adds lambda * mean over target tokens of "
        "sum_s min(attention, attention already spent on s) to the training loss, so that no source token is "
        "attended twice; unsupervised (no gold links); translation models with attention; 0 = off"))
    clip_norm: float | None = Field(1.0, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    class_weights: Literal["none", "balanced"] = Field(
        "none", description="classifiers: balanced = weight each class by n / (C * n_class) in the loss")
    eval_every: int = Field(500, gt=0)
    eval_max_sentences: int | None = Field(1000, gt=0, description="dev sentences decoded per evaluation")
    early_stopping_metric: Literal["exact_match", "bleu", "chrf", "loss", "accuracy", "macro_f1"] | None = Field(
        None, description="default: bleu for translation and captioning, macro_f1 for classification, accuracy "
                          "for matching and image classification")
    patience: int | None = Field(8, ge=1, description="evaluations without improvement before stopping")
    save_every: int = Field(500, gt=0, description="steps between resumable checkpoints (last.pt)")
    log_every: int = Field(50, gt=0)
    threads: int | None = Field(None, gt=0, description="torch intra-op threads; default all cores (under "
                                                     "torchrun: set it per process)")
    precision: Literal["fp32", "bf16"] = Field("fp32", description=(
        "bf16: the training forward pass under bfloat16 autocast (weights, optimiser and loss stay float32); "
        "pays where the CPU has bf16 matrix units (AMX) or on GPUs; evaluation stays fp32"))


class DecodeConfig(_Section):
    beam: int = Field(5, ge=1)
    n_best: int = Field(1, ge=1)
    length_penalty: float = Field(0.6, ge=0, description="GNMT alpha: ((5 + |Y|) / 6) ** alpha")
    max_len_ratio: float = Field(2.0, gt=0)
    max_len_offset: int = Field(10, ge=0)
    batch_size: int = Field(64, gt=0)
    workers: int | None = Field(None, gt=0, description=(
        "batches decoded at once, each on its share of the torch threads; default on the CPU: 2 when there "
        "are at least 2 threads and 2 batches (small models keep 2 cores busier that way than with 2 threads "
        "inside each operation), else 1; on a GPU 1"))

    @model_validator(mode="after")
    def _n_best_fits(self) -> DecodeConfig:
        if self.n_best > self.beam:
            raise ValueError(f"decode.n_best={self.n_best} cannot exceed decode.beam={self.beam}")
        return self


class Config(_Section):
    name: str = "run"
    seed: int = 1234
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    decode: DecodeConfig = DecodeConfig()

    @model_validator(mode="after")
    def _task_fits(self) -> Config:
        task = self.model.task
        corpora = FAMILY_CORPORA.get(self.model.family, TASK_CORPORA[task])
        if self.data.corpus not in corpora:
            raise ValueError(f"data.corpus={self.data.corpus} is not a {task} corpus; model.family="
                             f"{self.model.family} takes one of {', '.join(corpora)}")
        if task not in ("classify", "match") and self.data.tokenizer.oov_buckets:
            raise ValueError(f"data.tokenizer.oov_buckets applies to classification and matching vocabularies, "
                             f"not to {task}")
        if self.train.early_stopping_metric is None:
            self.train.early_stopping_metric = DEFAULT_METRIC[task]
        metric = self.train.early_stopping_metric
        if metric not in TASK_METRICS[task]:
            raise ValueError(f"train.early_stopping_metric={metric} does not apply to {task}; choose one of "
                             f"{', '.join(TASK_METRICS[task])}")
        if task in VISION_TASKS:
            self._vision_defaults()
        return self

    def _vision_defaults(self) -> None:
        """Batch size, caption vocabulary and caption length budget of the vision tasks."""
        if self.train.batch_size is None:
            self.train.batch_size = 32
        if self.model.task != "caption":
            return
        if self.data.tokenizer.kind != "word":
            if "kind" in self.data.tokenizer.model_fields_set:
                raise ValueError(f"data.tokenizer.kind={self.data.tokenizer.kind}: captions use kind=word (pointing "
                                 "and frame alignment score the attention of whole words)")
            self.data.tokenizer.kind = "word"
        if "max_len_offset" not in self.decode.model_fields_set:
            self.decode.max_len_offset = 40  # the caption budget (search runs with max_len_ratio=0)


# --------------------------------------------------------------------------- loading
def _suggest(key: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
    return f"; did you mean '{close[0]}'?" if close else f"; valid keys: {', '.join(valid)}"


def _section_at(path: tuple[Any, ...]) -> type[BaseModel]:
    cls: type[BaseModel] = Config
    for part in path:
        field = cls.model_fields.get(str(part))
        ann = getattr(field, "annotation", None)
        candidates = [a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and issubclass(a, BaseModel)]
        if not candidates:
            break
        cls = candidates[0]
    return cls


def _format_errors(err: ValidationError, source: str) -> str:
    lines = [f"invalid configuration in {source}:"]
    for e in err.errors():
        loc = tuple(e["loc"])
        key = ".".join(str(p) for p in loc)
        if e["type"] == "extra_forbidden":
            valid = list(_section_at(loc[:-1]).model_fields)
            lines.append(f"  unknown key '{key}'{_suggest(str(loc[-1]), valid)}")
        else:
            if key:
                lines.append(f"  '{key}': {e['msg']} (got {e.get('input')!r})")
            else:  # a check across sections: its message names the keys
                lines.append(f"  {e['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)


def validate_config(raw: dict[str, Any], source: str = "config") -> Config:
    """Validate a plain dict; errors become a :class:`ConfigError` naming each bad key."""
    if not isinstance(raw, dict):
        kind = type(raw).__name__
        raise ConfigError(f"{source}: expected a mapping of sections (data, model, train, decode), got {kind}")
    try:
        return Config.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format_errors(err, source)) from None


def _parse_override(item: str) -> tuple[list[str], Any]:
    if "=" not in item:
        raise ConfigError(f"override {item!r} must look like section.key=value (e.g. train.max_steps=2000)")
    key, value = item.split("=", 1)
    try:
        parsed = yaml.safe_load(value) if value != "" else None
    except yaml.YAMLError:
        parsed = value
    return key.strip().split("."), parsed


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Set dotted ``key=value`` pairs in a raw config dict (values parsed as YAML scalars)."""
    for item in overrides:
        path, value = _parse_override(item)
        node = raw
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: '{part}' is not a section")
        node[path[-1]] = value
    return raw


def load_config(path: str | Path, overrides: list[str] | None = None) -> Config:
    """Read a YAML file, apply overrides, validate."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist; shipped recipes are in configs/")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(err, 'problem', err)})") from None
    return validate_config(apply_overrides(raw, overrides or []), str(path))


def dump_config(config: Config, path: Path) -> None:
    """Write the fully resolved config (every default filled in) as YAML."""
    data = config.model_dump(mode="json")
    data["model"] = {"family": config.model.family, **config.model.builder_kwargs()}  # only this family's keys
    vision = frozenset().union(*VISION_DATA_KEYS.values()) - VISION_DATA_KEYS.get(config.data.corpus, frozenset())
    data["data"] = {k: v for k, v in data["data"].items() if k not in vision}  # nor other corpora's
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
