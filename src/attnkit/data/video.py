"""Fashion clips: short grey videos in which Fashion-MNIST items appear, move and disappear, with captions.

A corpus for temporal attention over video frames (as in Yao et al. 2015, "Describing Videos by Exploiting
Temporal Structure"): each caption narrates the clip's events in temporal order, and each event happens in
its own known range of frames, so the frames a decoder attends to while writing an event's words can be
scored (:func:`event_word_frames`).

Layout. A ``size x size`` canvas (default 48) is a 3x3 grid of cells (16 px at size 48). Items are
Fashion-MNIST images halved to 14x14 (2x2 mean pooling); each occupies one cell, at an offset inside the
cell fixed for the whole clip. One or two items are visible from the first frame; they are of distinct
classes, as are the items that appear later, so "the bag" always names one item. Items never overlap.

Events, one after another (``events`` = the inclusive range of their number, default 2-3); each is drawn
by choosing a kind uniformly among the possible ones, then an item (and direction) uniformly:

- ``appears``: a new item fades in, in a free cell;
- ``disappears``: a visible item fades out and leaves for good;
- ``moves``: a visible item slides by one cell to a free neighbouring cell, ``left``/``right``/``up``/``down``.

Frame 0 shows the items before anything happens. Frames ``1 .. F-1`` are cut into as many equal segments
as there are events; each event takes 2 or more consecutive frames inside its own segment (appearing and
disappearing items fade linearly, moving ones slide linearly). ``Event.frames = (start, end)`` is exact:
the frames ``start .. end - 1`` (and only those) differ from their predecessor because of that event, and
the last of them shows the event completed; frames outside every event equal the frame before them.

Caption grammar (whitespace-separated words; ``N`` from :data:`~attnkit.data.fashion.WORDS`)::

    caption := event { "then" event }
    event   := DET N "appears" | DET N "disappears" | DET N "moves" DIR
    DET     := "a" (first mention of the item) | "the" (later mentions)
    DIR     := "left" | "right" | "up" | "down"

for example ``a bag appears then a sneaker moves right then the bag disappears``. Items that do nothing
are not mentioned. ``Event.words = (start, end)`` is the event's token span (``then`` belongs to no event).

Splits and determinism as for :mod:`~attnkit.data.scenes`: train/dev/test draw from disjoint images, and
clips are a deterministic function of ``(split, seed)`` and the other arguments.
"""
# F frames, S canvas side in pixels (size), E events per clip

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from attnkit.data.fashion import ITEM_SIZE, WORDS, ItemPool, fashion_root, item_pool, split_rng
from attnkit.errors import DataError

__all__ = [
    "CLIP_ITEM_SIZE",
    "DIRECTIONS",
    "KINDS",
    "Clip",
    "Event",
    "clip_vocabulary",
    "event_word_frames",
    "make_clips",
]

GRID = 3
CLIP_ITEM_SIZE = ITEM_SIZE // 2
KINDS = ("appears", "disappears", "moves")
DIRECTIONS = {"left": (0, -1), "right": (0, 1), "up": (-1, 0), "down": (1, 0)}  # (d row, d col)
MIN_EVENT_FRAMES = 2


@dataclass(frozen=True)
class Event:
    """One thing that happens: ``kind`` (``appears``/``disappears``/``moves``) of an item of class ``label``,
    ``direction`` for moves (else ``""``), its caption tokens ``words`` and its frames ``frames``, both as
    half-open ``(start, end)`` ranges."""

    kind: str
    label: int
    direction: str
    words: tuple[int, int]
    frames: tuple[int, int]


@dataclass(frozen=True)
class Clip:
    """A clip, its caption and its events in temporal (and caption) order."""

    frames: np.ndarray  # uint8 [F, S, S]
    caption: str
    events: tuple[Event, ...]
    id: str = ""
    labels: tuple[int, ...] = ()  # classes of every item in the clip, mentioned or not


@dataclass
class _Item:
    label: int
    image: np.ndarray  # uint8 [14, 14]
    cell: tuple[int, int]  # (row, col) at the current point of the story
    offset: tuple[int, int]  # (dy, dx) inside its cell
    pos: np.ndarray  # float [F, 2] top-left (y, x) per frame
    alpha: np.ndarray  # float [F] opacity per frame
    mentioned: bool = False
    gone: bool = False


def clip_vocabulary() -> list[str]:
    """Every word a clip caption can contain, sorted."""
    return sorted({"a", "the", "then", *KINDS, *DIRECTIONS, *WORDS})


def event_word_frames(clip: Clip) -> list[tuple[int, set[int]]]:
    """``(token index, frames of its event)`` for every caption token that belongs to an event.

    The ground truth for word -> frame alignment: while writing a token, temporal attention should fall
    on these frames.
    """
    return [(t, set(range(*e.frames))) for e in clip.events for t in range(*e.words)]


def _shrink(image: np.ndarray) -> np.ndarray:
    return image.reshape(CLIP_ITEM_SIZE, 2, CLIP_ITEM_SIZE, 2).mean(axis=(1, 3)).round().astype(np.uint8)


def _corner(cell: tuple[int, int], offset: tuple[int, int], size: int) -> np.ndarray:
    step = size // GRID
    return np.array([cell[0] * step + offset[0], cell[1] * step + offset[1]], dtype=float)


def _free_cells(items: list[_Item]) -> set[tuple[int, int]]:
    taken = {it.cell for it in items if not it.gone}
    return {(r, c) for r in range(GRID) for c in range(GRID)} - taken


def _new_item(rng: np.random.Generator, pool: ItemPool, row: int, cell: tuple[int, int], size: int,
              frames: int) -> _Item:
    slack = size // GRID - CLIP_ITEM_SIZE
    offset = (int(rng.integers(slack + 1)), int(rng.integers(slack + 1)))
    pos = np.tile(_corner(cell, offset, size), (frames, 1))
    return _Item(int(pool.labels[row]), _shrink(pool.images[row]), cell, offset, pos, np.ones(frames))


def _choices(items: list[_Item], unused_classes: bool) -> list[tuple[str, int, str]]:
    """Every possible next event as (kind, item index or -1 for a new item, direction)."""
    free = _free_cells(items)
    out = [("appears", -1, "")] if free and unused_classes else []
    for i, it in enumerate(items):
        if it.gone:
            continue
        out.append(("disappears", i, ""))
        for name, (dr, dc) in DIRECTIONS.items():
            if (it.cell[0] + dr, it.cell[1] + dc) in free:
                out.append(("moves", i, name))
    return out


def _apply(item: _Item, kind: str, direction: str, start: int, end: int, size: int) -> None:
    """Animate ``item`` over frames ``start .. end - 1`` and hold the result afterwards."""
    ramp = np.clip((np.arange(len(item.alpha)) - start + 1) / (end - start), 0.0, 1.0)  # 0 before, 1 from end-1
    if kind == "appears":
        item.alpha = ramp
    elif kind == "disappears":
        item.alpha = item.alpha * (1.0 - ramp)
        item.gone = True
    else:
        dr, dc = DIRECTIONS[direction]
        old = item.pos[start - 1]  # where the previous events left it (events start at frame 1 or later)
        item.cell = (item.cell[0] + dr, item.cell[1] + dc)
        new = _corner(item.cell, item.offset, size)
        item.pos = np.where(np.arange(len(ramp))[:, None] < start, item.pos, old + ramp[:, None] * (new - old))


def _render(items: list[_Item], frames: int, size: int) -> np.ndarray:
    video = np.zeros((frames, size, size), dtype=np.uint8)  # [F, S, S]
    k = CLIP_ITEM_SIZE
    for it in items:
        for t in range(frames):
            if it.alpha[t] > 0:
                y, x = (int(v) for v in np.round(it.pos[t]))
                patch = np.round(it.image * it.alpha[t]).astype(np.uint8)
                video[t, y:y + k, x:x + k] = np.maximum(video[t, y:y + k, x:x + k], patch)
    return video


def _segments(rng: np.random.Generator, frames: int, count: int) -> list[tuple[int, int]]:
    """One range of at least two frames inside each of ``count`` equal segments of frames ``1 .. frames-1``."""
    out = []
    for e in range(count):
        lo, hi = 1 + e * (frames - 1) // count, 1 + (e + 1) * (frames - 1) // count
        length = int(rng.integers(MIN_EVENT_FRAMES, hi - lo + 1))
        start = lo + int(rng.integers(hi - lo - length + 1))
        out.append((start, start + length))
    return out


def _make_clip(rng: np.random.Generator, pool: ItemPool, frames: int, size: int, n_events: int,
               id: str) -> Clip:
    first = int(rng.integers(1, 3))
    rows = list(pool.draw(rng, first + n_events))  # distinct classes for every item the clip could need
    cells = [divmod(int(c), GRID) for c in rng.choice(GRID * GRID, size=first, replace=False)]
    items = [_new_item(rng, pool, rows.pop(0), cell, size, frames) for cell in cells]
    tokens: list[str] = []
    events = []
    for start, end in _segments(rng, frames, n_events):
        options = _choices(items, bool(rows))
        kinds = sorted({o[0] for o in options})  # a kind first, so that kinds are balanced
        chosen = kinds[int(rng.integers(len(kinds)))]
        options = [o for o in options if o[0] == chosen]
        kind, i, direction = options[int(rng.integers(len(options)))]
        if kind == "appears":
            free = sorted(_free_cells(items))
            items.append(_new_item(rng, pool, rows.pop(0), free[int(rng.integers(len(free)))], size, frames))
            i = len(items) - 1
        item = items[i]
        _apply(item, kind, direction, start, end, size)
        if tokens:
            tokens.append("then")
        words = ["the" if item.mentioned else "a", WORDS[item.label], kind] + ([direction] if direction else [])
        item.mentioned = True
        events.append(Event(kind, item.label, direction, (len(tokens), len(tokens) + len(words)), (start, end)))
        tokens += words
    return Clip(frames=_render(items, frames, size), caption=" ".join(tokens), events=tuple(events), id=id,
                labels=tuple(it.label for it in items))


def make_clips(split: str, n: int, *, frames: int = 12, size: int = 48, events: tuple[int, int] = (2, 3),
               seed: int = 0, root: str | Path | None = None) -> list[Clip]:
    """``n`` clips of the ``"train"``, ``"dev"`` or ``"test"`` split, each ``frames`` frames of ``size`` px.

    ``events`` is the inclusive range of the number of events per clip (uniform); every event needs two
    frames of its own after the first frame, so ``frames >= 1 + 2 * events[1]``. See the module docstring.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not 1 <= events[0] <= events[1] <= 4:
        raise ValueError(f"events must be a range (lo, hi) with 1 <= lo <= hi <= 4, got {events}")
    if frames < 1 + MIN_EVENT_FRAMES * events[1]:
        raise ValueError(f"frames must be >= {1 + MIN_EVENT_FRAMES * events[1]} for {events[1]} events, got {frames}")
    if size // GRID < CLIP_ITEM_SIZE:
        raise ValueError(f"size must be >= {GRID * CLIP_ITEM_SIZE} to fit a {GRID}x{GRID} grid of "
                         f"{CLIP_ITEM_SIZE}x{CLIP_ITEM_SIZE} items, got {size}")
    pool = item_pool(split, root)
    if sum(1 for rows in pool.by_class if len(rows)) < 2 + events[1]:
        raise DataError(f"the {split!r} Fashion-MNIST split under {fashion_root(root)} has too few classes "
                        f"for {events[1]} events")
    rng = split_rng("clips", split, seed)
    return [_make_clip(rng, pool, frames, size, int(rng.integers(events[0], events[1] + 1)),
                       f"clips-{split}-{seed}-{i:06d}") for i in range(n)]
