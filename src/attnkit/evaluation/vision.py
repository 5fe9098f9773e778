"""Scores of captions and of where vision models look: BLEU-4 and exact caption accuracy, pointing
accuracy over image regions, word -> frame alignment over video frames, and glimpses on the object.

The attention scores compare the argmax of each attention row with ground truth the generated corpora
know exactly (:mod:`attnkit.data.scenes`, :mod:`attnkit.data.video`, :mod:`attnkit.data.cluttered`):

- pointing (Xu et al. 2015 show where a captioner looks while it writes a word; here it is counted):
  for each generated word that names an object of the scene, is the peak of that step's attention over
  the ``h x w`` regions inside the object's box? A region stands for the pixel cell it covers on the
  image (the grid's stride is ``image size / grid size``); it is inside the box when the cell's centre is.
- frame alignment (as in Yao et al. 2015's temporal attention): for each caption token that belongs to
  an event, is the frame of peak attention one of the event's frames?
- glimpse hits (Mnih et al. 2014): is a RAM glimpse centred inside the item's box?

Each ``*_hits`` function scores one example and returns one bool per scored position; :func:`hit_rate`
turns the hits of many examples into a percentage. Imports neither models nor data.
"""
# T tokens (attention rows), R = h * w regions, F frames, G glimpses

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from attnkit.evaluation.metrics import bleu, exact_match

__all__ = ["caption_scores", "frame_hits", "glimpse_hits", "hit_rate", "pointing_hits", "region_centre"]

Box = Sequence[int]  # (x0, y0, x1, y1): the object is image[y0:y1, x0:x1]


def caption_scores(hyps: Sequence[str], refs: Sequence[str]) -> dict:
    """``bleu`` (sacrebleu's corpus BLEU-4), ``exact_match`` (percentage of captions equal to their
    reference: exact caption accuracy) and ``bleu_signature``."""
    score, signature = bleu(hyps, refs)
    return {"bleu": score, "exact_match": exact_match(hyps, refs), "bleu_signature": signature}


def region_centre(region: int, grid: tuple[int, int], image_size: tuple[int, int]) -> tuple[float, float]:
    """Pixel ``(x, y)`` of the centre of region ``region`` (row-major on the ``(h, w)`` grid) of an
    ``(H, W)`` image."""
    h, w = grid
    if not 0 <= region < h * w:
        raise ValueError(f"region {region} is outside a {h} x {w} grid")
    row, col = divmod(region, w)
    return (col + 0.5) * image_size[1] / w, (row + 0.5) * image_size[0] / h


def _inside(x: float, y: float, box: Box) -> bool:
    x0, y0, x1, y1 = box
    return x0 <= x < x1 and y0 <= y < y1


def _rows(attn, need: int, cols: int | None, what: str) -> np.ndarray:
    attn = np.asarray(attn, dtype=np.float64)
    if attn.ndim != 2 or attn.shape[0] < need or (cols is not None and attn.shape[1] != cols):
        want = f"[>= {need}, {cols if cols is not None else what}]"
        raise ValueError(f"attention must be {want} (one row per token), got {list(attn.shape)}")
    return attn


def pointing_hits(tokens: Sequence[str], attn, grid: tuple[int, int], image_size: tuple[int, int],
                  labels: Sequence[int], boxes: Sequence[Box], names: Sequence[str]) -> list[bool]:
    """For every token that names an object of the scene: does the attention peak of its step fall in
    that object's box?

    ``tokens`` are the generated words (an ``"</s>"`` at the end is ignored), ``attn`` ``[T, R]`` with
    ``T >= len(tokens)`` (row ``t``: the step that emitted ``tokens[t]``), ``labels``/``boxes`` the scene's
    objects and ``names[label]`` the word of a class. The objects of a scene have distinct classes, so a
    class word names one object; after ``a`` it introduces it and after ``the`` refers back to it
    (:func:`~attnkit.data.scenes.object_word_positions`), the same object either way. A word whose class
    is not in the scene points at nothing and is not scored.
    """
    h, w = grid
    attn = _rows(attn, len(tokens), h * w, "R")
    owner = {names[label]: k for k, label in enumerate(labels)}
    hits = []
    for t, token in enumerate(tokens):
        if token in owner:
            x, y = region_centre(int(attn[t].argmax()), grid, image_size)
            hits.append(_inside(x, y, boxes[owner[token]]))
    return hits


def frame_hits(attn, gold: Sequence[tuple[int, set[int]]]) -> list[bool]:
    """For every ``(token index, frames)`` of ``gold`` (:func:`~attnkit.data.video.event_word_frames`):
    is the frame of peak attention of that token's row of ``attn`` ``[T, F]`` among ``frames``?"""
    attn = _rows(attn, 1 + max((t for t, _ in gold), default=-1), None, "F")
    return [int(attn[t].argmax()) in frames for t, frames in gold]


def glimpse_hits(locations, box: Box, image_size: tuple[int, int]) -> list[bool]:
    """For every glimpse centre ``(x, y)`` of ``locations`` ``[G, 2]`` (in [-1, 1], ``(-1, -1)`` the
    top-left corner of an ``(H, W)`` image): does it fall inside ``box``?"""
    loc = np.asarray(locations, dtype=np.float64)
    if loc.ndim != 2 or loc.shape[1] != 2:
        raise ValueError(f"locations must be [G, 2] (x, y) pairs, got {list(loc.shape)}")
    H, W = image_size
    return [_inside((x + 1) / 2 * W, (y + 1) / 2 * H, box) for x, y in loc]


def hit_rate(hits: Iterable[Sequence[bool]]) -> float | None:
    """Percentage of True over the hits of every example; None when nothing was scored."""
    flat = [bool(h) for example in hits for h in example]
    return 100.0 * sum(flat) / len(flat) if flat else None
