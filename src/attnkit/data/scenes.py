"""Fashion scenes: Fashion-MNIST items laid out on a canvas, with a caption that names them and where they are.

A captioning corpus for attention over image regions ("Show, Attend and Tell", Xu et al. 2015) whose
ground truth is known exactly: every caption is a deterministic function of the layout, so exact-match
caption accuracy is meaningful, and each noun of a caption names one object whose box is known, so the
attention of the step that emits a noun can be scored (pointing accuracy, :func:`object_word_positions`).

Layout. A ``size x size`` canvas (default 64) is cut into a 2x2 grid of cells; each of the 1-4 objects
is a 28x28 Fashion-MNIST image pasted unscaled into its own cell, shifted at random inside the cell
(by up to ``size // 2 - 28`` pixels, at most 27). Objects never overlap, and two objects are in the
same row (column) exactly when their boxes overlap vertically (horizontally). The objects of a scene are
of distinct classes, so "the bag" always names one object.

Order. Objects are numbered left to right, and within a column top to bottom: the top-left, bottom-left,
top-right and bottom-right cells come in that order. ``Scene.boxes`` and ``Scene.labels`` follow this
order, which is also the order in which the caption first mentions them.

Caption grammar (whitespace-separated lower-case words; ``Ni`` is the word of object ``i`` from
:data:`~attnkit.data.fashion.WORDS`, ``R(i, j)`` where object ``i`` is relative to object ``j``)::

    caption  := "a" N1 [ R(1, 2) "a" N2 { "and" "a" Nk R(k, k-1) "the" N(k-1) } ]   (k = 3, 4)
    R(i, j)  := VERT | HORIZ | VERT HORIZ
    VERT     := "above" | "below"            (the boxes do not overlap vertically)
    HORIZ    := "left" "of" | "right" "of"   (the boxes do not overlap horizontally)

The first relation is one of ``left of``, ``above``, ``above left of``, ``below left of``; later ones one
of ``right of``, ``below``, ``above right of`` (``below right of`` cannot occur: only the first object
can be top-left). Examples::

    a sneaker
    a sneaker left of a bag
    a coat above a sandal and a dress above right of the sandal
    a top above a bag and a boot above right of the bag and a dress below the boot

Splits: ``train`` and ``dev`` draw items from disjoint parts of the Fashion-MNIST training file,
``test`` from the t10k file (:func:`~attnkit.data.fashion.fashion_split`), so no image is in two splits.
Scenes are deterministic given ``(split, seed)`` and the other arguments; the first ``n`` scenes of a
larger request are the ``n`` scenes of a smaller one.
"""
# S canvas side in pixels (size), K objects per scene

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from attnkit.data.fashion import ITEM_SIZE, WORDS, item_pool, split_rng
from attnkit.errors import DataError

__all__ = [
    "Box",
    "Scene",
    "caption_vocabulary",
    "make_scenes",
    "object_word_positions",
    "relation",
    "scene_caption",
]

Box = tuple[int, int, int, int]  # (x0, y0, x1, y1): the object is image[y0:y1, x0:x1]
GRID = 2
MAX_OBJECTS = GRID * GRID
FUNCTION_WORDS = ("a", "the", "and", "above", "below", "left", "right", "of")


@dataclass(frozen=True)
class Scene:
    """One canvas, its caption and its objects (in caption order).

    ``sources`` are the positions of the objects' images in the Fashion-MNIST file of the split
    (``train-*`` for train and dev, ``t10k-*`` for test).
    """

    image: np.ndarray  # uint8 [S, S]
    caption: str
    boxes: tuple[Box, ...]
    labels: tuple[int, ...]
    id: str
    sources: tuple[int, ...] = ()


def relation(a: Box, b: Box) -> str:
    """Where box ``a`` is relative to box ``b``: ``"left of"``, ``"above"``, ``"below right of"`` ...

    Raises ``ValueError`` when the boxes overlap, which no scene allows.
    """
    vert = "above" if a[3] <= b[1] else "below" if a[1] >= b[3] else ""
    horiz = "left of" if a[2] <= b[0] else "right of" if a[0] >= b[2] else ""
    if not (vert or horiz):
        raise ValueError(f"boxes {a} and {b} overlap; a relation needs disjoint boxes")
    return " ".join(w for w in (vert, horiz) if w)


def scene_caption(labels: tuple[int, ...], boxes: tuple[Box, ...]) -> str:
    """The caption of objects already in caption order (see the grammar in the module docstring)."""
    if not labels or len(labels) != len(boxes):
        raise ValueError(f"need one box per label and at least one object, got {len(labels)} and {len(boxes)}")
    words = [WORDS[label] for label in labels]
    parts = [f"a {words[0]}"]
    if len(labels) > 1:
        parts.append(f"{relation(boxes[0], boxes[1])} a {words[1]}")
    for k in range(2, len(labels)):
        parts.append(f"and a {words[k]} {relation(boxes[k], boxes[k - 1])} the {words[k - 1]}")
    return " ".join(parts)


def caption_vocabulary() -> list[str]:
    """Every word a scene caption can contain, sorted."""
    return sorted(set(FUNCTION_WORDS) | set(WORDS))


def object_word_positions(scene: Scene) -> list[tuple[int, int]]:
    """``(token index, object index)`` for every noun of the caption, in caption order.

    Tokens are the caption's whitespace-separated words; the object index points into ``scene.boxes``.
    A noun after ``a`` introduces the next object; a noun after ``the`` refers back to the latest object
    of that class. Pointing accuracy asks whether attention at each such word falls on that object's box.
    """
    tokens = scene.caption.split()
    out: list[tuple[int, int]] = []
    introduced: list[str] = []
    for i, token in enumerate(tokens):
        if token not in WORDS or i == 0:
            continue
        if tokens[i - 1] == "a":
            introduced.append(token)
            out.append((i, len(introduced) - 1))
        elif tokens[i - 1] == "the" and token in introduced:
            out.append((i, len(introduced) - 1 - introduced[::-1].index(token)))
        else:
            raise DataError(f"scene {scene.id}: caption {scene.caption!r} does not follow the scene grammar "
                            f"at word {i} ({token!r})")
    if [WORDS.index(tokens[i]) for i, _ in out] != [scene.labels[k] for _, k in out]:
        raise DataError(f"scene {scene.id}: caption {scene.caption!r} does not match its labels {scene.labels}")
    return out


def _layout(rng: np.random.Generator, k: int, size: int) -> list[Box]:
    """``k`` boxes in distinct grid cells, in caption order (column, then row)."""
    cell = size // GRID
    jitter = min(cell - ITEM_SIZE, ITEM_SIZE - 1)  # below 28 keeps same-row boxes overlapping vertically
    margin = (cell - ITEM_SIZE - jitter) // 2
    cells = sorted((int(c) // GRID, int(c) % GRID) for c in rng.choice(MAX_OBJECTS, size=k, replace=False))
    boxes = []
    for col, row in cells:
        x0 = col * cell + margin + int(rng.integers(jitter + 1))
        y0 = row * cell + margin + int(rng.integers(jitter + 1))
        boxes.append((x0, y0, x0 + ITEM_SIZE, y0 + ITEM_SIZE))
    return boxes


def _check_args(n: int, objects: tuple[int, int], size: int) -> None:
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    lo, hi = objects
    if not 1 <= lo <= hi <= MAX_OBJECTS:
        raise ValueError(f"objects must be a range (lo, hi) with 1 <= lo <= hi <= {MAX_OBJECTS}, got {objects}")
    if size < GRID * ITEM_SIZE:
        raise ValueError(f"size must be >= {GRID * ITEM_SIZE} to fit a {GRID}x{GRID} grid of 28x28 items, got {size}")


def make_scenes(split: str, n: int, *, objects: tuple[int, int] = (2, 3), size: int = 64, seed: int = 0,
                root: str | Path | None = None) -> list[Scene]:
    """``n`` fashion scenes of the ``"train"``, ``"dev"`` or ``"test"`` split.

    ``objects`` is the inclusive range of the number of items per scene (uniform, at most 4); ``size``
    the canvas side (>= 56). ``root`` is the Fashion-MNIST directory. See the module docstring for the
    layout and the caption grammar.
    """
    _check_args(n, objects, size)
    pool = item_pool(split, root)
    rng = split_rng("scenes", split, seed)
    scenes = []
    for i in range(n):
        k = int(rng.integers(objects[0], objects[1] + 1))
        rows = pool.draw(rng, k)
        boxes = _layout(rng, k, size)
        image = np.zeros((size, size), dtype=np.uint8)  # [S, S]
        for row, (x0, y0, x1, y1) in zip(rows, boxes, strict=True):
            image[y0:y1, x0:x1] = pool.images[row]
        labels = tuple(int(pool.labels[row]) for row in rows)
        scenes.append(Scene(image=image, caption=scene_caption(labels, tuple(boxes)), boxes=tuple(boxes),
                            labels=labels, id=f"scenes-{split}-{seed}-{i:06d}",
                            sources=tuple(int(pool.index[row]) for row in rows)))
    return scenes
