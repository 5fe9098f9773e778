"""Text matching: pairs of texts labelled 1 (they match) or 0 (they do not), and their batches.

The built-in task asks whether two texts are the same Bible verse (:func:`load_bible_matching`), built
from the verse-aligned ``bible`` corpus (:mod:`attnkit.data.bible`) and its fixed train/dev/test split:

- ``paraphrase``: ``a`` a King James verse, ``b`` a World English Bible verse (English-English);
- ``translation``: ``a`` a Reina-Valera 1909 verse (Spanish), ``b`` a King James verse (English).

Every verse gives one positive pair and one hard negative: the same ``a`` with the ``b`` of a
neighbouring verse of its chapter, which shares names, topic and style, so that word overlap alone does
not decide. User data comes from CSV, TSV or JSONL files (:func:`read_text_pairs`).
"""
# B batch, N words of text a, M words of text b

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from attnkit.data.bible import load_bible
from attnkit.data.documents import batch_to, check_batch_sizes, pad_sequences, read_rows
from attnkit.errors import DataError

__all__ = ["VARIANTS", "PairBatch", "TextPair", "load_bible_matching", "make_pair_batch", "parse_match_label",
           "read_text_pairs"]

# variant -> (src, tgt, english) for load_bible: its src is text a, its tgt text b
VARIANTS = {"paraphrase": ("en", "en", "kjv"), "translation": ("es", "en", "kjv")}
_TRUE = frozenset({"1", "true", "yes", "match", "matched", "same"})
_FALSE = frozenset({"0", "false", "no", "no_match", "nomatch", "mismatch", "different"})


@dataclass(frozen=True)
class TextPair:
    """Two texts and whether they match (``label`` 1) or not (0)."""

    a: str
    b: str
    label: int
    id: str = ""


def _neighbours(k: int, n: int, forward_first: bool) -> list[int]:
    """Positions of a chapter of ``n`` verses by distance from ``k`` (``k`` excluded); at each distance the
    later verse comes first when ``forward_first``."""
    out = []
    for d in range(1, n):
        pair = (k + d, k - d) if forward_first else (k - d, k + d)
        out.extend(j for j in pair if 0 <= j < n)
    return out


def load_bible_matching(variant: str, split: str, *, seed: int = 0, cache_dir: Path | None = None) -> list[TextPair]:
    """Balanced verse-matching pairs of one split (``train``, ``dev``, ``test`` or ``all``).

    For every verse of the split, in corpus order: the positive ``(a_v, b_v)`` (id ``"<verse>:pos"``),
    then the negative ``(a_v, b_u)`` (id ``"<verse>:neg:<u>"``), ``u`` the nearest verse of the same
    chapter whose ``b`` text differs from ``b_v``; whether the next or the previous verse is tried first
    is decided by SHA-256 of ``"<seed>:<verse>"``, so the pairs are fixed by ``seed``. A verse whose chapter
    offers no such neighbour is left out, pair and all. ``u`` may belong to another split: its ``b`` text
    then appears in two splits, but always labelled differently (positive with its own ``a``, negative
    with ``a_v``), which can only hurt a model that memorises texts, never flatter it.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {tuple(VARIANTS)}, got {variant!r}")
    if split not in ("train", "dev", "test", "all"):
        raise ValueError(f"split must be 'train', 'dev', 'test' or 'all', got {split!r}")
    src, tgt, english = VARIANTS[variant]
    verses = load_bible("all", src=src, tgt=tgt, english=english, cache_dir=cache_dir)
    chapters: dict[str, list[int]] = {}
    for i, verse in enumerate(verses):
        chapters.setdefault(verse.id.rsplit(".", 1)[0], []).append(i)
    wanted = None if split == "all" else {p.id for p in load_bible(split, src=src, tgt=tgt, english=english,
                                                                   cache_dir=cache_dir)}
    pairs: list[TextPair] = []
    for members in chapters.values():
        for k, i in enumerate(members):
            verse = verses[i]
            if wanted is not None and verse.id not in wanted:
                continue
            forward = hashlib.sha256(f"{seed}:{verse.id}".encode()).digest()[0] % 2 == 0
            other = next((verses[members[j]] for j in _neighbours(k, len(members), forward)
                          if verses[members[j]].tgt != verse.tgt), None)
            if other is None:
                continue
            pairs.append(TextPair(verse.src, verse.tgt, 1, f"{verse.id}:pos"))
            pairs.append(TextPair(verse.src, other.tgt, 0, f"{verse.id}:neg:{other.id}"))
    return pairs


def parse_match_label(value: str) -> int | None:
    """``1``/``true``/``yes``/``match`` -> 1, ``0``/``false``/``no``/``mismatch`` -> 0 (any case), else None."""
    value = value.strip().lower()
    return 1 if value in _TRUE else 0 if value in _FALSE else None


def read_text_pairs(path: str | Path, *, a_field: str = "text_a", b_field: str = "text_b",
                    label_field: str = "label") -> list[TextPair]:
    """Labelled text pairs from a CSV, TSV or JSONL file (see :func:`~attnkit.data.documents.read_rows`).

    Labels may be ``0``/``1``, ``true``/``false``, ``yes``/``no`` or ``match``/``mismatch`` (any case);
    anything else, or an empty text, raises :class:`DataError` naming the file and line. Ids are
    ``"name:line"``.
    """
    path = Path(path)
    pairs = []
    for line, row in read_rows(path, (a_field, b_field, label_field)):
        a, b = row[a_field].strip(), row[b_field].strip()
        for name, text in ((a_field, a), (b_field, b)):
            if not text:
                raise DataError(f"{path}, line {line}: empty text in {name!r}; remove the pair or fill it in")
        label = parse_match_label(row[label_field])
        if label is None:
            raise DataError(f"{path}, line {line}: label {row[label_field]!r} is not a match label; write 1/0, "
                            f"true/false, yes/no or match/mismatch")
        pairs.append(TextPair(a, b, label, f"{path.name}:{line}"))
    return pairs


@dataclass
class PairBatch:
    """Padded text pairs for matching models.

    Shapes:
        tokens_a: ``[B, N]`` long, 0 = padding; mask_a: ``[B, N]`` bool, True = real word;
        tokens_b: ``[B, M]`` long; mask_b: ``[B, M]`` bool; labels: ``[B]`` long (1 = match);
        index: positions of the pairs in their corpus, in batch order.
    """

    tokens_a: Tensor
    mask_a: Tensor
    tokens_b: Tensor
    mask_b: Tensor
    labels: Tensor
    index: list[int]

    def to(self, device: torch.device | str, non_blocking: bool = False) -> PairBatch:
        """A copy with every tensor on ``device``."""
        return batch_to(self, device, non_blocking)


def make_pair_batch(a_ids: Sequence[Sequence[int]], b_ids: Sequence[Sequence[int]], labels: Sequence[int],
                    index: Sequence[int]) -> PairBatch:
    """Pad both sides of the pairs (word ids, as :meth:`DocumentVocab.encode_flat` returns) separately."""
    check_batch_sizes(labels, index, len(a_ids), "pair")
    if len(b_ids) != len(a_ids):
        raise ValueError(f"got {len(a_ids)} texts a but {len(b_ids)} texts b; they must pair up")
    tokens_a, mask_a = pad_sequences(a_ids, "text a")  # [B, N]
    tokens_b, mask_b = pad_sequences(b_ids, "text b")  # [B, M]
    return PairBatch(tokens_a, mask_a, tokens_b, mask_b, torch.as_tensor(list(labels), dtype=torch.long),
                     [int(i) for i in index])
