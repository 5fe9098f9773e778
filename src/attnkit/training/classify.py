"""Document classification and text matching: their training tasks and their predictors.

- :class:`ClassificationTask` / :class:`DocumentClassifier`: labelled documents for ``han`` (sentences
  of words, ``[B, N, W]``) and the flat ``classifier`` (``[B, S]``); word and sentence attention come back
  with every prediction.
- :class:`MatchingTask` / :class:`PairMatcher`: labelled text pairs for the ``matcher``; the
  co-attention matrices come back with every prediction.

The model directory holds ``vocab.json`` (words) and ``labels.json`` (class names in logit order)
beside ``config.yaml`` and the weights.

With ``model.word_vectors=word2vec`` a fresh run copies skip-gram vectors trained on the training split's
text into the word embedding before the first step (:func:`init_word_vectors`, Yang et al. 2016,
section 3.3); a resumed run takes its embedding from the checkpoint and trains no vectors.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from attnkit.config import WORD_VECTOR_KEYS, Config, DataConfig, FilesConfig
from attnkit.data.documents import (
    Document,
    DocumentVocab,
    LabelSet,
    load_documents,
    make_doc_batch,
    make_flat_batch,
    read_labelled,
)
from attnkit.data.matching import TextPair, load_bible_matching, make_pair_batch, read_text_pairs
from attnkit.data.word_vectors import sentences_of, train_word2vec
from attnkit.errors import DataError
from attnkit.evaluation.classification import classification_metrics
from attnkit.models import create_model
from attnkit.training.checkpoint import load_weights
from attnkit.training.tasks import Task, dev_subset, read_model_config

__all__ = ["ClassificationTask", "DocumentClassifier", "MatchPrediction", "MatchingTask", "PairMatcher",
           "Prediction", "build_labelled_model", "init_word_vectors", "load_documents_split",
           "load_pairs_split"]

log = logging.getLogger("attnkit")
VOCAB_FILE, LABELS_FILE = "vocab.json", "labels.json"
PAIR_LABELS = {0: "different", 1: "match"}  # how a matcher names its two classes


# --------------------------------------------------------------------------- data
def _files(cfg: DataConfig, split: str) -> FilesConfig:
    files = getattr(cfg, split)
    if files is None:
        raise DataError(f"data.{split} is not set: give data.{split}.src (a CSV, TSV or JSONL file) to use the "
                        f"'{split}' split")
    return files


def load_documents_split(cfg: DataConfig, split: str) -> list[Document]:
    """Documents of one split of a classification corpus (built-in or the user's files)."""
    if cfg.corpus == "files":
        return read_labelled(_files(cfg, split).src, text_field=cfg.text_field, label_field=cfg.label_field)
    return load_documents(cfg.corpus, split)


def load_pairs_split(cfg: DataConfig, split: str) -> list[TextPair]:
    """Text pairs of one split of a matching corpus (built-in or the user's files).

    The built-in Bible pairs are fixed (their negatives drawn with the corpus's own seed 0), whatever
    the training seed, so every model and baseline is scored on the same test pairs."""
    if cfg.corpus == "files":
        return read_text_pairs(_files(cfg, split).src, a_field=f"{cfg.text_field}_a", b_field=f"{cfg.text_field}_b",
                               label_field=cfg.label_field)
    return load_bible_matching(cfg.match, split)


def _flat_len(cfg: Config) -> int:
    """Words kept by the flat classifier: all sentences' words, within the position table."""
    return min(cfg.data.max_sentences * cfg.data.max_words, cfg.model.max_positions)


def _load_vocab(model_dir: Path) -> tuple[DocumentVocab, LabelSet]:
    return DocumentVocab.load(model_dir / VOCAB_FILE), LabelSet.load(model_dir / LABELS_FILE)


def _load_labelled(model_dir: str | Path, task: str) -> tuple[nn.Module, DocumentVocab, LabelSet, Config]:
    """Model (with its best weights), vocabulary, labels and config of a classifier or matcher directory."""
    model_dir = Path(model_dir)
    config = read_model_config(model_dir, task)
    vocab, labels = _load_vocab(model_dir)
    model = build_labelled_model(config, vocab.vocab_size, len(labels.names))
    load_weights(model, model_dir / "model.safetensors", config.model.family)
    return model, vocab, labels, config


def build_labelled_model(config: Config, vocab_size: int, num_classes: int) -> nn.Module:
    """The classifier or matcher of ``config.model`` for a vocabulary and a number of classes (its word
    embedding random: :func:`init_word_vectors` fills it on a fresh run)."""
    kwargs = {k: v for k, v in config.model.builder_kwargs().items() if k not in WORD_VECTOR_KEYS}
    if config.model.family == "classifier":
        kwargs["num_layers"] = kwargs.pop("encoder_layers")
        return create_model("transformer_classifier", vocab_size=vocab_size, num_classes=num_classes, **kwargs)
    return create_model(config.model.family, vocab_size=vocab_size, num_classes=num_classes, **kwargs)


def init_word_vectors(model: nn.Module, vocab: DocumentVocab, texts: Sequence[str], config: Config) -> torch.Tensor:
    """Copy word2vec vectors trained on ``texts`` (the training split's, never dev or test) into
    ``model.embed``, the word embedding of han, classifier and matcher; returns the ``[V]`` mask of the
    rows written. The padding row stays zero and the rows of words without a vector (specials, hash
    buckets) keep their random init; the vectors are scaled to that init's RMS ``E^-1/2``. The seconds
    word2vec takes are logged: :func:`~attnkit.data.word_vectors.train_word2vec` runs before the training
    loop, so neither ``train.time_limit_minutes`` nor the reported ``train_minutes`` include them.

    Shapes:
        model.embed.weight: ``[V, E]``, V = ``vocab.vocab_size``, E = ``model.embed_dim``
    """
    m = config.model
    embed = getattr(model, "embed", None)
    shape = tuple(embed.weight.shape) if isinstance(embed, nn.Embedding) else None
    if shape != (vocab.vocab_size, m.embed_dim):
        raise ValueError(f"model.word_vectors={m.word_vectors} needs a model whose .embed is an nn.Embedding of "
                         f"[{vocab.vocab_size}, {m.embed_dim}]; {type(model).__name__} has {shape or 'none'}")
    # rms: the N(0, 1/E) init of all three families' embeddings, so the rows with and without a vector match
    found = train_word2vec(sentences_of(texts), vocab, dim=m.embed_dim, window=m.word2vec_window,
                           epochs=m.word2vec_epochs, seed=config.seed, rms=m.embed_dim**-0.5)
    with torch.no_grad():
        embed.weight[found.filled] = found.vectors[found.filled].to(embed.weight.dtype)
    return found.filled


# --------------------------------------------------------------------------- predictors
@dataclass
class Prediction:
    """One document's class with the attention that led to it."""

    label: str
    probs: dict[str, float]  # every class, in label order
    tokens: list[list[str]]  # sentences of words as the model saw them (a flat model: one sentence)
    word_weights: list[list[float]] | None  # same nesting as tokens; None when the model pools without weights
    sentence_weights: list[float] | None  # han only

    def as_dict(self) -> dict:
        return {"label": self.label, "probs": self.probs, "tokens": self.tokens, "word_weights": self.word_weights,
                "sentence_weights": self.sentence_weights}


class DocumentClassifier:
    """A trained classifier with its vocabulary: texts in, :class:`Prediction` out (batched)."""

    def __init__(self, model: nn.Module, vocab: DocumentVocab, labels: LabelSet, config: Config) -> None:
        self.model, self.vocab, self.labels, self.config = model.eval(), vocab, labels, config
        self.hierarchical = config.model.family == "han"

    @classmethod
    def from_dir(cls, model_dir: str | Path) -> DocumentClassifier:
        return cls(*_load_labelled(model_dir, "classify"))

    def encode(self, text: str) -> list[list[int]] | list[int]:
        d = self.config.data
        if self.hierarchical:
            return self.vocab.encode(text, max_sentences=d.max_sentences, max_words=d.max_words)
        return self.vocab.encode_flat(text, max_words=_flat_len(self.config))

    def _tokens(self, text: str) -> list[list[str]]:
        d = self.config.data
        if self.hierarchical:
            return self.vocab.tokens(text, d.max_sentences, d.max_words)
        words = [w for sentence in self.vocab.tokens(text, None, None) for w in sentence]
        return [words[: _flat_len(self.config)]]

    def batch(self, encoded: Sequence, labels: Sequence[int], index: Sequence[int]):
        make = make_doc_batch if self.hierarchical else make_flat_batch
        return make(list(encoded), list(labels), list(index))

    @torch.inference_mode()
    def classify(self, texts: Sequence[str], *, batch_size: int = 32, attention: bool = True) -> list[Prediction]:
        for i, text in enumerate(texts, 1):
            if not text.strip():
                raise DataError(f"text {i} is empty; give every document some words")
        encoded = [self.encode(t) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: -sum(map(len, encoded[i])) if self.hierarchical
                       else -len(encoded[i]))
        out: list[Prediction | None] = [None] * len(texts)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            batch = self.batch([encoded[i] for i in idx], [0] * len(idx), idx)
            result = self.model(batch.tokens, batch.mask)
            probs = result.logits.softmax(-1)  # [B, C]
            for row, i in enumerate(idx):
                out[i] = self._prediction(texts[i], probs[row], result, row, attention)
        return out  # type: ignore[return-value]

    def _prediction(self, text: str, probs, result, row: int, attention: bool) -> Prediction:
        names = self.labels.names
        tokens = self._tokens(text) if attention else []
        words = sentences = None
        if attention and self.hierarchical:
            words = [result.word_weights[row, s, :len(ws)].tolist() for s, ws in enumerate(tokens)]
            sentences = result.sentence_weights[row, :len(tokens)].tolist()
        elif attention and result.pool_weights is not None:
            words = [result.pool_weights[row, :len(tokens[0])].tolist()]
        return Prediction(names[int(probs.argmax())], {n: float(p) for n, p in zip(names, probs, strict=True)},
                          tokens, words, sentences)


@dataclass
class MatchPrediction:
    """Whether two texts match, with the co-attention between their words."""

    label: str
    probs: dict[str, float]
    tokens_a: list[str]
    tokens_b: list[str]
    attn_ab: list[list[float]] | None  # [len(a), len(b)]: each word of a over the words of b
    attn_ba: list[list[float]] | None  # [len(b), len(a)]

    def as_dict(self) -> dict:
        return {"label": self.label, "probs": self.probs, "tokens_a": self.tokens_a, "tokens_b": self.tokens_b,
                "attn_ab": self.attn_ab, "attn_ba": self.attn_ba}


class PairMatcher:
    """A trained matcher with its vocabulary: text pairs in, :class:`MatchPrediction` out (batched)."""

    def __init__(self, model: nn.Module, vocab: DocumentVocab, labels: LabelSet, config: Config) -> None:
        self.model, self.vocab, self.labels, self.config = model.eval(), vocab, labels, config

    @classmethod
    def from_dir(cls, model_dir: str | Path) -> PairMatcher:
        return cls(*_load_labelled(model_dir, "match"))

    def encode(self, text: str) -> list[int]:
        return self.vocab.encode_flat(text, max_words=self.config.data.max_words)

    def _words(self, text: str) -> list[str]:
        return [w for s in self.vocab.tokens(text, None, None) for w in s][: self.config.data.max_words]

    @torch.inference_mode()
    def match(self, pairs: Sequence[tuple[str, str]], *, batch_size: int = 64,
              attention: bool = True) -> list[MatchPrediction]:
        for i, (a, b) in enumerate(pairs, 1):
            if not a.strip() or not b.strip():
                raise DataError(f"pair {i} has an empty text; give both texts some words")
        a_ids = [self.encode(a) for a, _ in pairs]
        b_ids = [self.encode(b) for _, b in pairs]
        names, out = self.labels.names, []
        for start in range(0, len(pairs), batch_size):
            idx = list(range(start, min(start + batch_size, len(pairs))))
            batch = make_pair_batch([a_ids[i] for i in idx], [b_ids[i] for i in idx], [0] * len(idx), idx)
            result = self.model(batch.tokens_a, batch.mask_a, batch.tokens_b, batch.mask_b)
            probs = result.logits.softmax(-1)
            for row, i in enumerate(idx):
                ta, tb = (self._words(pairs[i][0]), self._words(pairs[i][1])) if attention else ([], [])
                ab = ba = None
                if attention and result.attn_ab is not None:
                    ab = result.attn_ab[row, :len(ta), :len(tb)].tolist()
                    ba = result.attn_ba[row, :len(tb), :len(ta)].tolist()
                out.append(MatchPrediction(names[int(probs[row].argmax())],
                                           {n: float(p) for n, p in zip(names, probs[row], strict=True)},
                                           ta, tb, ab, ba))
        return out


# --------------------------------------------------------------------------- tasks
class _LabelledTask(Task):
    curve_metrics = ("accuracy", "macro_f1")

    def _vocab(self, resuming: bool, texts: list[str], labels: list[str]) -> None:
        self.resuming = resuming  # a resumed run's embedding comes from last.pt: no word vectors then
        if resuming:
            self.vocab, self.labels = _load_vocab(self.model_dir)
        else:
            tok = self.config.data.tokenizer
            self.vocab = DocumentVocab.build(texts, min_freq=tok.min_freq, max_size=tok.vocab_size,
                                             oov_buckets=tok.oov_buckets)
            self.labels = LabelSet.build(labels)
            self.vocab.save(self.model_dir / VOCAB_FILE)
            self.labels.save(self.model_dir / LABELS_FILE)

    def _label_ids(self, labels: list[str], split: str) -> list[int]:
        known = set(self.labels.names)
        unknown = sorted({x for x in labels if x not in known})
        if unknown:
            raise DataError(f"{split} has labels the training data lacks: {', '.join(unknown[:5])}; every class "
                            "must appear in train")
        return [self.labels.index(x) for x in labels]

    def build_model(self) -> nn.Module:
        model = build_labelled_model(self.config, self.vocab.vocab_size, len(self.labels.names))
        if self.config.model.word_vectors == "word2vec" and not self.resuming:
            init_word_vectors(model, self.vocab, self.training_texts(), self.config)
        return model

    @abstractmethod
    def training_texts(self) -> list[str]:
        """The training split's texts, the only text word vectors are trained on."""

    def _class_weights(self, labels: list[int]) -> torch.Tensor | None:
        """``n / (C * n_c)`` per class (scikit-learn's "balanced") when ``train.class_weights=balanced``."""
        if self.config.train.class_weights == "none":
            return None
        counts = torch.bincount(torch.tensor(labels), minlength=len(self.labels.names)).clamp(min=1)
        return len(labels) / (len(counts) * counts.to(torch.float32))

    def _weighted(self, batch, train: bool):
        """Training batches carry the class weights (``model.loss`` reads them); dev batches never do."""
        if train and self.class_weights is not None:
            batch.class_weights = self.class_weights
        return batch

    def _scores(self, gold: list[str], pred: list[str]) -> dict:
        m = classification_metrics(gold, pred, self.labels.names)
        return {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"]}


class ClassificationTask(_LabelledTask):
    """Labelled documents for ``han`` ([B, N, W]) and the flat ``classifier`` ([B, S])."""

    def prepare(self, resuming: bool) -> None:
        cfg = self.config
        self.train_docs = load_documents_split(cfg.data, "train")
        self.dev_docs = dev_subset(load_documents_split(cfg.data, "dev"), cfg.train.eval_max_sentences)
        if len({d.label for d in self.train_docs}) < 2:
            raise DataError("the training documents have fewer than two labels; a classifier needs at least two")
        self._vocab(resuming, [d.text for d in self.train_docs], [d.label for d in self.train_docs])
        self.predictor = DocumentClassifier(nn.Identity(), self.vocab, self.labels, cfg)  # encoding only
        self.train_x = [self.predictor.encode(d.text) for d in self.train_docs]
        self.train_y = self._label_ids([d.label for d in self.train_docs], "train")
        self.dev_x = [self.predictor.encode(d.text) for d in self.dev_docs]
        self.dev_y = self._label_ids([d.label for d in self.dev_docs], "dev")
        self.class_weights = self._class_weights(self.train_y)
        log.info("data: %d train / %d dev documents, %d classes, vocabulary %d words", len(self.train_docs),
                 len(self.dev_docs), len(self.labels.names), self.vocab.vocab_size)

    def training_texts(self) -> list[str]:
        return [d.text for d in self.train_docs]

    def _cost(self, x) -> int:
        """Padded size of one document: sentences x longest sentence (or its length, flat)."""
        return len(x) * max(map(len, x)) if self.predictor.hierarchical else len(x)

    def lengths(self) -> tuple[list[int], list[int]]:
        cost = [self._cost(x) for x in self.train_x]
        return cost, cost

    def _dev_lengths(self) -> tuple[list[int], list[int]]:
        cost = [self._cost(x) for x in self.dev_x]
        return cost, cost

    def batch(self, idx: list[int], *, train: bool = True):
        x, y = (self.train_x, self.train_y) if train else (self.dev_x, self.dev_y)
        return self._weighted(self.predictor.batch([x[i] for i in idx], [y[i] for i in idx], idx), train)

    def dev_metrics(self, model: nn.Module) -> dict:
        predictor = DocumentClassifier(model, self.vocab, self.labels, self.config)
        pred = [p.label for p in predictor.classify([d.text for d in self.dev_docs], attention=False)]
        return self._scores([d.label for d in self.dev_docs], pred)


class MatchingTask(_LabelledTask):
    """Labelled text pairs for the ``matcher``."""

    def prepare(self, resuming: bool) -> None:
        cfg = self.config
        self.train_pairs = load_pairs_split(cfg.data, "train")
        self.dev_pairs = dev_subset(load_pairs_split(cfg.data, "dev"), cfg.train.eval_max_sentences)
        names = [PAIR_LABELS[p.label] for p in self.train_pairs]
        self._vocab(resuming, [t for p in self.train_pairs for t in (p.a, p.b)], names)
        self.predictor = PairMatcher(nn.Identity(), self.vocab, self.labels, cfg)
        self.train_a = [self.predictor.encode(p.a) for p in self.train_pairs]
        self.train_b = [self.predictor.encode(p.b) for p in self.train_pairs]
        self.train_y = self._label_ids(names, "train")
        self.dev_a = [self.predictor.encode(p.a) for p in self.dev_pairs]
        self.dev_b = [self.predictor.encode(p.b) for p in self.dev_pairs]
        self.dev_y = self._label_ids([PAIR_LABELS[p.label] for p in self.dev_pairs], "dev")
        self.class_weights = self._class_weights(self.train_y)
        log.info("data: %d train / %d dev pairs, vocabulary %d words", len(self.train_pairs), len(self.dev_pairs),
                 self.vocab.vocab_size)

    def training_texts(self) -> list[str]:
        """Both texts of every training pair, each distinct text once: a verse is in two pairs (positive
        and negative), and repeating it would only weight it twice."""
        return list(dict.fromkeys(t for p in self.train_pairs for t in (p.a, p.b)))

    def lengths(self) -> tuple[list[int], list[int]]:
        return [len(a) for a in self.train_a], [len(b) for b in self.train_b]

    def _dev_lengths(self) -> tuple[list[int], list[int]]:
        return [len(a) for a in self.dev_a], [len(b) for b in self.dev_b]

    def batch(self, idx: list[int], *, train: bool = True):
        a, b, y = (self.train_a, self.train_b, self.train_y) if train else (self.dev_a, self.dev_b, self.dev_y)
        batch = make_pair_batch([a[i] for i in idx], [b[i] for i in idx], [y[i] for i in idx], idx)
        return self._weighted(batch, train)

    def dev_metrics(self, model: nn.Module) -> dict:
        predictor = PairMatcher(model, self.vocab, self.labels, self.config)
        pred = [p.label for p in predictor.match([(p.a, p.b) for p in self.dev_pairs], attention=False)]
        return self._scores([PAIR_LABELS[p.label] for p in self.dev_pairs], pred)
