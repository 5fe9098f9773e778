"""Translated, cluttered Fashion-MNIST: one item somewhere on a large canvas among distracting fragments.

The task of the recurrent attention model (RAM; Mnih et al. 2014, "Recurrent Models of Visual Attention",
section 4.1, "cluttered translated MNIST"): a 28x28 item is pasted at a uniformly random position of a
``size x size`` canvas (60 in the paper), and ``clutter`` random 8x8 patches cut from other items of the
same split are pasted at uniformly random positions (4 at 60x60 in the paper). Patches may overlap the
item and each other; overlapping pixels keep the brighter value. A glimpse-based classifier has to find
the item before naming it; the item's box is returned as well, to score where the glimpses land.

Patches are cut from inside the 28x28 frame, at least 2 px from its edge, where Fashion-MNIST items almost
always have ink. Splits (train/dev/test from disjoint images) and determinism as in
:mod:`~attnkit.data.scenes`.
"""
# N images, S canvas side in pixels (size)

from __future__ import annotations

from pathlib import Path

import numpy as np

from attnkit.data.fashion import ITEM_SIZE, fashion_root, item_pool, split_rng
from attnkit.errors import DataError

__all__ = ["PATCH_SIZE", "make_cluttered"]

PATCH_SIZE = 8
_PATCH_MARGIN = 2


def make_cluttered(split: str, n: int, *, size: int = 60, clutter: int = 4, seed: int = 0,
                   root: str | Path | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` cluttered canvases of the ``"train"``, ``"dev"`` or ``"test"`` split.

    Returns ``images`` float32 ``[N, S, S]`` in [0, 1], ``labels`` int64 ``[N]`` (the class of the item)
    and ``boxes`` int64 ``[N, 4]``: the item's ``(x0, y0, x1, y1)``, i.e. ``image[y0:y1, x0:x1]``.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if size < ITEM_SIZE:
        raise ValueError(f"size must be >= {ITEM_SIZE} to hold a 28x28 item, got {size}")
    if clutter < 0:
        raise ValueError(f"clutter must be >= 0, got {clutter}")
    pool = item_pool(split, root)
    if clutter and len(pool.images) < 2:
        raise DataError(f"the {split!r} Fashion-MNIST split under {fashion_root(root)} needs two images or more "
                        "for clutter")
    rng = split_rng("cluttered", split, seed)
    images = np.zeros((n, size, size), dtype=np.uint8)  # [N, S, S]
    labels = np.zeros(n, dtype=np.int64)
    boxes = np.zeros((n, 4), dtype=np.int64)
    p, hi = PATCH_SIZE, ITEM_SIZE - PATCH_SIZE - _PATCH_MARGIN
    for i in range(n):
        row = int(rng.integers(len(pool.images)))
        for _ in range(clutter):
            other = int(rng.integers(len(pool.images) - 1))
            other += other >= row  # any image but the item itself
            cy, cx = rng.integers(_PATCH_MARGIN, hi + 1, size=2)
            y, x = rng.integers(0, size - p + 1, size=2)
            patch = pool.images[other, cy:cy + p, cx:cx + p]
            np.maximum(images[i, y:y + p, x:x + p], patch, out=images[i, y:y + p, x:x + p])
        y0, x0 = (int(v) for v in rng.integers(0, size - ITEM_SIZE + 1, size=2))
        window = images[i, y0:y0 + ITEM_SIZE, x0:x0 + ITEM_SIZE]
        np.maximum(window, pool.images[row], out=window)
        labels[i] = pool.labels[row]
        boxes[i] = (x0, y0, x0 + ITEM_SIZE, y0 + ITEM_SIZE)
    return images.astype(np.float32) / 255.0, labels, boxes
