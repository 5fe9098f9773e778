"""Tokenizers: characters, whitespace-separated words, and SentencePiece subwords, behind one interface.

All three reserve the same four special ids (:data:`PAD`, :data:`BOS`, :data:`EOS`, :data:`UNK`), encode
without adding BOS/EOS, and report for every token its display string (:meth:`Tokenizer.pieces`) and
the characters of the input it came from (:meth:`Tokenizer.spans`), so attention over tokens can be
mapped back to characters. A tokenizer is saved as ``<name>.tokenizer.json`` (plus ``<name>.spm.model``
for SentencePiece): plain files, never pickles.
"""

from __future__ import annotations

import io
import json
import re
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from attnkit.errors import CheckpointError, ConfigError, DataError

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ("<pad>", "<s>", "</s>", "<unk>")
KINDS = ("char", "word", "sentencepiece")
SPM_MODEL_TYPES = ("bpe", "unigram")
SPM_INPUT_SENTENCE_SIZE = 2_000_000  # sentences sampled for SentencePiece training
FORMAT_VERSION = 1
_WORD = re.compile(r"\S+")
_SPACE_MARK = "\u2581"  # "▁", how SentencePiece (and our char pieces) show a space


def _content_ids(ids: Sequence[int]) -> list[int]:
    """The ids before the first EOS, without PAD and BOS."""
    out = []
    for i in ids:
        i = int(i)
        if i == EOS:
            break
        if i not in (PAD, BOS):
            out.append(i)
    return out


def _json_path(directory: Path, name: str) -> Path:
    return Path(directory) / f"{name}.tokenizer.json"


class Tokenizer(ABC):
    """The interface every tokenizer implements; ``kind`` is one of :data:`KINDS`."""

    kind: str

    @property
    @abstractmethod
    def vocab_size(self) -> int:
        """Number of ids, specials included."""

    @abstractmethod
    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``; no BOS/EOS added; unknown tokens become :data:`UNK`."""

    @abstractmethod
    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids``, stopping at the first EOS and skipping PAD and BOS."""

    @abstractmethod
    def pieces(self, text: str) -> list[str]:
        """Display string of each token of ``text`` (same length as ``encode(text)``)."""

    @abstractmethod
    def id_to_piece(self, token_id: int) -> str:
        """Display string of one id (as :meth:`pieces` shows it)."""

    @abstractmethod
    def spans(self, text: str) -> list[tuple[int, int]]:
        """Character range ``[start, end)`` in ``text`` of each token (same length as ``encode(text)``)."""

    @abstractmethod
    def save(self, directory: Path, name: str) -> None:
        """Write the tokenizer to ``directory`` as ``<name>.tokenizer.json`` (and model files it needs)."""


class _VocabTokenizer(Tokenizer):
    """A tokenizer defined by a splitting rule and a list of token strings (specials first)."""

    def __init__(self, vocab: Sequence[str]) -> None:
        if tuple(vocab[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a vocabulary must start with the specials {SPECIALS}, got {list(vocab[:4])}")
        self.itos = list(vocab)
        self.stoi = {token: i for i, token in enumerate(self.itos)}

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    @staticmethod
    @abstractmethod
    def _split(text: str) -> list[tuple[str, int, int]]:
        """``(token, start, end)`` for each token of ``text``."""

    @staticmethod
    @abstractmethod
    def _join(tokens: list[str]) -> str:
        """Inverse of splitting, for decoding."""

    def encode(self, text: str) -> list[int]:
        return [self.stoi.get(token, UNK) for token, _, _ in self._split(text)]

    def decode(self, ids: Sequence[int]) -> str:
        content = _content_ids(ids)
        bad = [i for i in content if not 0 <= i < len(self.itos)]
        if bad:
            raise ValueError(f"ids {bad[:5]} are outside the vocabulary (size {len(self.itos)})")
        return self._join([self.itos[i] for i in content])

    def pieces(self, text: str) -> list[str]:
        return [token for token, _, _ in self._split(text)]

    def id_to_piece(self, token_id: int) -> str:
        return self.itos[token_id] if 0 <= token_id < len(self.itos) else SPECIALS[UNK]

    def spans(self, text: str) -> list[tuple[int, int]]:
        return [(start, end) for _, start, end in self._split(text)]

    def save(self, directory: Path, name: str) -> None:
        path = _json_path(directory, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {"kind": self.kind, "format_version": FORMAT_VERSION, "vocab": self.itos}
        path.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def train(cls, texts: Iterable[str], *, vocab_size: int, min_freq: int) -> _VocabTokenizer:
        """Keep the ``vocab_size - 4`` most frequent tokens seen at least ``min_freq`` times."""
        counts = Counter(token for text in texts for token, _, _ in cls._split(text))
        kept = sorted((t for t, c in counts.items() if c >= min_freq and t not in SPECIALS),
                      key=lambda t: (-counts[t], t))  # ties broken by the string: deterministic
        return cls(list(SPECIALS) + kept[: max(0, vocab_size - len(SPECIALS))])


class CharTokenizer(_VocabTokenizer):
    """Every character is a token, spaces included (shown as ``▁`` by :meth:`pieces`)."""

    kind = "char"

    @staticmethod
    def _split(text: str) -> list[tuple[str, int, int]]:
        return [(ch, i, i + 1) for i, ch in enumerate(text)]

    @staticmethod
    def _join(tokens: list[str]) -> str:
        return "".join(tokens)

    def pieces(self, text: str) -> list[str]:
        return [_SPACE_MARK if ch == " " else ch for ch in text]

    def id_to_piece(self, token_id: int) -> str:
        piece = super().id_to_piece(token_id)
        return _SPACE_MARK if piece == " " else piece


class WordTokenizer(_VocabTokenizer):
    """Tokens are maximal runs of non-whitespace; decoding joins them with single spaces."""

    kind = "word"

    @staticmethod
    def _split(text: str) -> list[tuple[str, int, int]]:
        return [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]

    @staticmethod
    def _join(tokens: list[str]) -> str:
        return " ".join(tokens)


def _spans_from_pieces(text: str, pieces: Sequence[str]) -> list[tuple[int, int]]:
    """Character spans of SentencePiece ``pieces`` in the original ``text``, by walking both.

    A fallback for sentencepiece versions without offset mapping. Where normalisation changed the
    text (NFKC, collapsed spaces) the piece cannot be found verbatim and its span is a best estimate
    of the same length; spans never leave ``[0, len(text)]`` and never go backwards.
    """
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in pieces:
        start = cursor
        if piece.startswith(_SPACE_MARK):
            while cursor < len(text) and text[cursor].isspace():
                cursor += 1
        if not spans:  # SentencePiece drops leading whitespace; so does the first span
            start = cursor
        core = piece.lstrip(_SPACE_MARK).replace(_SPACE_MARK, " ")
        end = min(len(text), cursor + len(core))
        spans.append((start, end))
        cursor = end
    return spans


def _sentencepiece():
    """The sentencepiece module, imported when a subword model is first used (character and word models never
    need it)."""
    try:
        import sentencepiece
    except ImportError:
        raise ConfigError("data.tokenizer.kind=sentencepiece needs the sentencepiece package: pip install "
                          "sentencepiece (it is one of attnkit's dependencies: reinstall attnkit)") from None
    return sentencepiece


class SentencePieceTokenizer(Tokenizer):
    """Subword tokenizer backed by a trained SentencePiece model (Kudo & Richardson, 2018).

    SentencePiece normalises text (NFKC, whitespace) before segmenting, so ``decode(encode(text))``
    may differ from ``text`` in whitespace and compatibility characters.
    """

    kind = "sentencepiece"

    def __init__(self, model_proto: bytes) -> None:
        spm = _sentencepiece()
        self._proto = bytes(model_proto)
        self._sp = spm.SentencePieceProcessor(model_proto=self._proto)
        ids = (self._sp.pad_id(), self._sp.bos_id(), self._sp.eos_id(), self._sp.unk_id())
        if ids != (PAD, BOS, EOS, UNK):
            raise ValueError(f"SentencePiece model has special ids {ids}; attnkit needs "
                             f"pad/bos/eos/unk = {(PAD, BOS, EOS, UNK)}")

    @property
    def vocab_size(self) -> int:
        return self._sp.get_piece_size()

    def encode(self, text: str) -> list[int]:
        return list(self._sp.encode(text))

    def decode(self, ids: Sequence[int]) -> str:
        return self._sp.decode(_content_ids(ids))

    def pieces(self, text: str) -> list[str]:
        return list(self._sp.encode(text, out_type=str))

    def id_to_piece(self, token_id: int) -> str:
        return self._sp.id_to_piece(token_id)

    def spans(self, text: str) -> list[tuple[int, int]]:
        if hasattr(self._sp, "encode_as_offset_mapping"):  # sentencepiece >= 0.2.1
            return [(int(a), int(b)) for a, b in self._sp.encode_as_offset_mapping(text)["offsets"]]
        return _spans_from_pieces(text, self.pieces(text))

    def save(self, directory: Path, name: str) -> None:
        path = _json_path(directory, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        model_file = f"{name}.spm.model"
        (path.parent / model_file).write_bytes(self._proto)
        record = {"kind": self.kind, "format_version": FORMAT_VERSION, "model_file": model_file}
        path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def train(cls, texts: Iterable[str], *, vocab_size: int, model_type: str) -> SentencePieceTokenizer:
        """Train on ``texts`` in memory; ``vocab_size`` is an upper bound on small corpora."""
        spm = _sentencepiece()
        writer = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=(t for t in texts if t.strip()), model_writer=writer,
                vocab_size=vocab_size, model_type=model_type, character_coverage=1.0,
                pad_id=PAD, bos_id=BOS, eos_id=EOS, unk_id=UNK, hard_vocab_limit=False,
                input_sentence_size=SPM_INPUT_SENTENCE_SIZE, shuffle_input_sentence=True, minloglevel=2)
        except RuntimeError as err:
            raise DataError(f"SentencePiece training failed: {err}; check that the training texts are "
                            f"not empty and that vocab_size ({vocab_size}) exceeds the number of distinct "
                            f"characters") from None
        return cls(writer.getvalue())


def train_tokenizer(kind: str, texts: Iterable[str], *, vocab_size: int = 8000, model_type: str = "bpe",
                    min_freq: int = 1, directory: Path | None = None, name: str = "tok") -> Tokenizer:
    """Build a tokenizer of ``kind`` (one of :data:`KINDS`) from training ``texts``.

    ``vocab_size`` caps the vocabulary (specials included); ``min_freq`` drops rarer tokens (char and
    word only); ``model_type`` ("bpe" or "unigram") applies to SentencePiece only. With ``directory``
    the tokenizer is also saved there under ``name``.
    """
    if kind not in KINDS:
        raise ConfigError(f"unknown tokenizer kind {kind!r}; valid kinds: {', '.join(KINDS)}")
    if vocab_size <= len(SPECIALS):
        raise ConfigError(f"tokenizer vocab_size must exceed {len(SPECIALS)} (the specials), got {vocab_size}")
    tokenizer: Tokenizer
    if kind == "sentencepiece":
        if model_type not in SPM_MODEL_TYPES:
            raise ConfigError(f"unknown SentencePiece model_type {model_type!r}; "
                              f"valid: {', '.join(SPM_MODEL_TYPES)}")
        tokenizer = SentencePieceTokenizer.train(texts, vocab_size=vocab_size, model_type=model_type)
    else:
        vocab_cls = CharTokenizer if kind == "char" else WordTokenizer
        tokenizer = vocab_cls.train(texts, vocab_size=vocab_size, min_freq=min_freq)
    if directory is not None:
        tokenizer.save(Path(directory), name)
    return tokenizer


def _read_record(path: Path) -> dict:
    if not path.is_file():
        raise CheckpointError(f"{path}: tokenizer file not found; the model directory is incomplete "
                              f"(re-train, or copy the tokenizer files next to the model)")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: not a valid tokenizer file ({err}); restore it from the "
                              f"original model directory") from None
    if not isinstance(record, dict) or record.get("kind") not in KINDS:
        kind = record.get("kind") if isinstance(record, dict) else None
        raise CheckpointError(f"{path}: unknown tokenizer kind {kind!r}; valid kinds: {', '.join(KINDS)}")
    return record


def load_tokenizer(directory: Path, name: str) -> Tokenizer:
    """Load the tokenizer saved by :meth:`Tokenizer.save` as ``<name>`` in ``directory``.

    A missing or corrupt file raises :class:`~attnkit.errors.CheckpointError` naming it.
    """
    path = _json_path(directory, name)
    record = _read_record(path)
    if record["kind"] == "sentencepiece":
        model_path = path.parent / str(record.get("model_file", f"{name}.spm.model"))
        if not model_path.is_file():
            raise CheckpointError(f"{model_path}: SentencePiece model not found (named by {path}); "
                                  f"copy it next to {path.name}")
        try:
            return SentencePieceTokenizer(model_path.read_bytes())
        except (RuntimeError, ValueError, OSError) as err:
            raise CheckpointError(f"{model_path}: not a usable SentencePiece model ({err})") from None
    vocab = record.get("vocab")
    if not isinstance(vocab, list) or not all(isinstance(t, str) for t in vocab) \
            or tuple(vocab[: len(SPECIALS)]) != SPECIALS:
        raise CheckpointError(f"{path}: 'vocab' must be a list of strings starting with {list(SPECIALS)}; "
                              f"restore the file from the original model directory")
    return (CharTokenizer if record["kind"] == "char" else WordTokenizer)(vocab)
