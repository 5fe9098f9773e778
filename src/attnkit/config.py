"""Configuration: YAML -> validated, typed objects. Every default lives here.

A config has four sections (``data``, ``model``, ``train``, ``decode``) plus ``name`` and ``seed``.
The model family decides the task (:data:`TASKS`): ``rnn``/``transformer`` translate, ``han`` and
``classifier`` classify documents, ``matcher`` decides whether two texts match.
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


class FilesConfig(_Section):
    src: Path
    tgt: Path | None = None  # None: ``src`` is a TSV file (source<TAB>target)


TRANSLATION_CORPORA = ("dates", "bible", "files")
CLASSIFICATION_CORPORA = ("debian", "wordnet", "fortunes", "files")
MATCHING_CORPORA = ("bible_match", "files")


class DataConfig(_Section):
    corpus: Literal["dates", "bible", "files", "debian", "wordnet", "fortunes", "bible_match"] = "dates"
    train: FilesConfig | None = None  # corpus=files
    dev: FilesConfig | None = None
    test: FilesConfig | None = None
    src_lang: str = "es"  # bible: es or en
    tgt_lang: str = "en"
    english: Literal["kjv", "web"] = "kjv"  # bible: which English translation
    train_size: int | None = Field(None, gt=0, description="dates: number of training pairs")
    max_len: int = Field(400, gt=0, description="pairs longer than this (characters) are skipped")
    tokenizer: TokenizerConfig = TokenizerConfig()
    # classification and matching
    text_field: str = "text"  # corpus=files: column / key of the text (matching: text_a and text_b)
    label_field: str = "label"
    match: Literal["paraphrase", "translation"] = "paraphrase"  # bible_match: KJV vs WEB, or Spanish vs KJV
    max_sentences: int = Field(30, gt=0, description="classification: sentences kept per document")
    max_words: int = Field(60, gt=0, description="classification: words kept per sentence; matching: per text")

    @model_validator(mode="after")
    def _files_given(self) -> DataConfig:
        if self.corpus == "files" and (self.train is None or self.dev is None):
            raise ValueError("data.corpus=files needs data.train and data.dev ({src: ..., tgt: ...})")
        return self


RNN_KEYS = frozenset({"cell", "decoder", "score", "input_feeding", "embed_dim", "hidden_dim", "attention_dim",
                      "encoder_layers", "decoder_layers", "dropout", "tie_embeddings"})
TRANSFORMER_KEYS = frozenset({"embed_dim", "num_heads", "ff_dim", "encoder_layers", "decoder_layers", "dropout",
                              "norm_first", "positions", "max_positions", "share_embeddings", "tie_embeddings",
                              "align_layer"})
HAN_KEYS = frozenset({"embed_dim", "hidden_dim", "attention_dim", "pooling", "dropout"})
CLASSIFIER_KEYS = frozenset({"embed_dim", "num_heads", "ff_dim", "encoder_layers", "dropout", "norm_first",
                             "positions", "max_positions", "pooling"})
MATCHER_KEYS = frozenset({"embed_dim", "hidden_dim", "coattention", "score", "dropout"})
FAMILY_KEYS = {"rnn": RNN_KEYS, "transformer": TRANSFORMER_KEYS, "han": HAN_KEYS, "classifier": CLASSIFIER_KEYS,
               "matcher": MATCHER_KEYS}
TASKS = {"rnn": "translate", "transformer": "translate", "han": "classify", "classifier": "classify",
         "matcher": "match"}
DEFAULT_METRIC = {"translate": "bleu", "classify": "macro_f1", "match": "accuracy"}
TASK_CORPORA = {"translate": TRANSLATION_CORPORA, "classify": CLASSIFICATION_CORPORA, "match": MATCHING_CORPORA}


class ModelConfig(_Section):
    family: Literal["rnn", "transformer", "han", "classifier", "matcher"] = "rnn"
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
    hidden_dim: int = Field(128, gt=0)
    attention_dim: int | None = Field(None, gt=0, description="A of additive/concat scores; default hidden_dim")
    # transformer
    num_heads: int = Field(4, ge=1)
    ff_dim: int = Field(512, gt=0)
    norm_first: bool = True  # pre-LN (True) or post-LN as in Vaswani et al. (False)
    positions: Literal["sinusoidal", "learned"] = "sinusoidal"
    max_positions: int = Field(1024, gt=0)
    share_embeddings: bool = False  # one embedding for source and target (needs data.tokenizer.shared)
    align_layer: int = Field(-2, description="decoder layer whose head-averaged cross-attention is the alignment")
    # classifiers (han, classifier) and the matcher
    pooling: Literal["attention", "mean", "max", "cls"] = "attention"  # han: attention/mean/max; classifier: not max
    coattention: bool = True  # matcher: False = the same encoders compared without co-attention

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
        if self.family == "matcher" and self.score not in ("dot", "general"):
            raise ValueError(f"model.score={self.score} cannot be a co-attention affinity; choose dot or general")
        if self.family in ("transformer", "classifier") and self.embed_dim % self.num_heads:
            raise ValueError(f"model.embed_dim={self.embed_dim} must be divisible by model.num_heads={self.num_heads}")
        return self

    def builder_kwargs(self) -> dict:
        """The keyword arguments of this family's builder (the other family's keys left out)."""
        keys = FAMILY_KEYS[self.family]
        return {k: v for k, v in self.model_dump().items() if k in keys}

    @property
    def task(self) -> str:
        return TASKS[self.family]


class TrainConfig(_Section):
    max_tokens: int = Field(4096, gt=0, description="padded target+source tokens per batch")
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
    clip_norm: float | None = Field(1.0, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    class_weights: Literal["none", "balanced"] = Field(
        "none", description="classifiers: balanced = weight each class by n / (C * n_class) in the loss")
    eval_every: int = Field(500, gt=0)
    eval_max_sentences: int | None = Field(1000, gt=0, description="dev sentences decoded per evaluation")
    early_stopping_metric: Literal["exact_match", "bleu", "chrf", "loss", "accuracy", "macro_f1"] | None = Field(
        None, description="default: bleu for translation, macro_f1 for classification, accuracy for matching")
    patience: int | None = Field(8, ge=1, description="evaluations without improvement before stopping")
    save_every: int = Field(500, gt=0, description="steps between resumable checkpoints (last.pt)")
    log_every: int = Field(50, gt=0)
    threads: int | None = Field(None, gt=0, description="torch intra-op threads; default all cores")


class DecodeConfig(_Section):
    beam: int = Field(5, ge=1)
    n_best: int = Field(1, ge=1)
    length_penalty: float = Field(0.6, ge=0, description="GNMT alpha: ((5 + |Y|) / 6) ** alpha")
    max_len_ratio: float = Field(2.0, gt=0)
    max_len_offset: int = Field(10, ge=0)
    batch_size: int = Field(64, gt=0)

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
        if self.data.corpus not in TASK_CORPORA[task]:
            raise ValueError(f"data.corpus={self.data.corpus} is not a {task} corpus; model.family="
                             f"{self.model.family} takes one of {', '.join(TASK_CORPORA[task])}")
        if self.train.early_stopping_metric is None:
            self.train.early_stopping_metric = DEFAULT_METRIC[task]
        metric = self.train.early_stopping_metric
        if (metric in ("accuracy", "macro_f1")) != (task != "translate") and metric != "loss":
            valid = "exact_match, bleu, chrf, loss" if task == "translate" else "accuracy, macro_f1, loss"
            raise ValueError(f"train.early_stopping_metric={metric} does not apply to {task}; choose one of {valid}")
        return self


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
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
