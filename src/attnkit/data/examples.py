"""The unit of every translation corpus: one source/target pair, optionally with gold alignment."""

from __future__ import annotations

from dataclasses import dataclass

Link = tuple[int, int]


@dataclass(frozen=True)
class Pair:
    """A source sentence and its translation.

    ``sure`` and ``possible`` are gold alignment links ``(src_char_index, tgt_char_index)``, 0-based
    character positions in ``src`` and ``tgt``. Following Och & Ney (2003), ``sure`` is a subset of
    ``possible`` (S ⊆ P); both are ``None`` when the corpus carries no gold alignment.
    """

    src: str
    tgt: str
    id: str = ""
    sure: tuple[Link, ...] | None = None
    possible: tuple[Link, ...] | None = None
