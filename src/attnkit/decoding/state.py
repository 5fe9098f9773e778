"""Batch-first decoder state: map, select and repeat every tensor leaf of a nested state.

A model's ``State`` (what ``encode`` returns and ``decode_step`` threads through) may be any nesting of
dataclasses, NamedTuples, tuples, lists and dicts. Search only ever needs three things from it: keep
some rows (sentences that are still running, beams that survived), repeat rows (one copy per beam) and,
more generally, apply a function to every tensor. So decoding never has to know what a model stores.

Legend: B batch, K beam, N rows kept.

Contract: every Tensor leaf is batch-first (dim 0 = batch). ``None`` and non-tensor leaves (ints,
strings, modules, ...) pass through unchanged and are shared, not copied. A dataclass field declared
with ``field(metadata={"per_source": True})`` holds what depends on the source sentence alone (encoder
memory, projected keys, masks): its rows are equal across the beams of a sentence, so beam search
(:func:`select_beams`) reorders it only when sentences leave the batch, never for the beams' backpointers.
A state whose ``beams_share_source`` attribute is true goes further: its model's steps read one
per-source row for all the beams of a sentence (rows ``b * k ... b * k + k - 1`` of everything else), so
beam search does not repeat those leaves at all. A field declared with ``field(metadata={"gathered": True})``
is not batch-first at all: the model reads its rows through an index leaf of the same state (which is
batch-first, so selecting and repeating reorder the index, and the model gathers the rows it names when it
next reads them); :func:`select_state`, :func:`select_beams` and :func:`repeat_state` leave it as it is.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import Tensor

__all__ = ["GATHERED", "PER_SOURCE", "map_state", "repeat_state", "select_beams", "select_state"]

S = TypeVar("S")
PER_SOURCE = "per_source"  # dataclass field metadata key: the same for every beam of a sentence
GATHERED = "gathered"  # dataclass field metadata key: rows read through an index leaf, not reordered by search


def _map_dataclass(fn: Callable[[Tensor], Tensor], obj: Any, per_source_fn: Callable[[Tensor], Tensor] | None,
                   rows: bool) -> Any:
    fields = dataclasses.fields(obj)

    def mapped(f: dataclasses.Field) -> Any:
        if rows and f.metadata.get(GATHERED):
            return getattr(obj, f.name)
        if per_source_fn is not None and f.metadata.get(PER_SOURCE):
            return map_state(per_source_fn, getattr(obj, f.name), rows=rows)
        return map_state(fn, getattr(obj, f.name), per_source_fn, rows=rows)

    # replace() re-runs __init__ (and __post_init__) with the init fields; fields declared init=False
    # are not accepted by replace(), so they are written afterwards (object.__setattr__ works on frozen).
    new = dataclasses.replace(obj, **{f.name: mapped(f) for f in fields if f.init})
    for f in fields:
        if not f.init and hasattr(obj, f.name):
            object.__setattr__(new, f.name, mapped(f))
    return new


def map_state(fn: Callable[[Tensor], Tensor], state: S, per_source_fn: Callable[[Tensor], Tensor] | None = None, *,
              rows: bool = False) -> S:
    """Apply ``fn`` to every Tensor leaf of ``state`` and rebuild the same structure around the results.

    Containers are rebuilt with their own type: dataclasses through :func:`dataclasses.replace`,
    NamedTuples through ``_make``, tuples/lists through their constructor, dicts (including
    ``OrderedDict``/``defaultdict``) as a shallow copy with new values. Anything else is returned as is.
    With ``per_source_fn``, the leaves under dataclass fields marked :data:`PER_SOURCE` get that instead.
    ``rows=True`` says ``fn`` selects or repeats rows: the leaves under fields marked :data:`GATHERED`
    (not batch-first) are then left as they are.
    """
    if isinstance(state, Tensor):
        return fn(state)
    if dataclasses.is_dataclass(state) and not isinstance(state, type):
        return _map_dataclass(fn, state, per_source_fn, rows)
    if isinstance(state, tuple) and hasattr(state, "_fields"):  # NamedTuple
        return type(state)._make(map_state(fn, v, per_source_fn, rows=rows) for v in state)
    if isinstance(state, (tuple, list)):
        return type(state)(map_state(fn, v, per_source_fn, rows=rows) for v in state)
    if isinstance(state, dict):
        new = copy.copy(state)  # keeps the dict subclass and e.g. a defaultdict's factory
        for key, value in state.items():
            new[key] = map_state(fn, value, per_source_fn, rows=rows)
        return new
    return state


def select_state(state: S, index: Tensor) -> S:
    """Keep (and reorder) rows: ``leaf.index_select(0, index)`` for every tensor leaf.

    Args:
        state: a batch-first state, leaves ``[B, ...]``.
        index: 1-D LongTensor ``[N]`` of rows to keep, in the order wanted (may repeat rows, as beam
            backpointers do).

    Returns:
        the same structure with leaves ``[N, ...]``.
    """
    if index.dim() != 1 or index.dtype.is_floating_point or index.dtype == torch.bool:
        raise ValueError(f"index must be a 1-D integer tensor, got dtype {index.dtype} and shape {list(index.shape)}")
    return map_state(lambda t: t.index_select(0, index.to(t.device)), state, rows=True)


def select_beams(state: S, keep: Tensor | None, back: Tensor, beam: int, active: int, *,
                 per_source_repeated: bool = True) -> S:
    """Beam search's reordering: of ``active`` sentences x ``beam`` rows, keep the sentences ``keep [N']``
    (None: every one) and, within each, the rows its new beams extend (``back [active, beam]``, backpointers).

    Leaves under :data:`PER_SOURCE` fields only follow ``keep`` (and are not touched at all when every
    sentence stays): their rows are equal across a sentence's beams, and copying the encoder memory
    once per step for nothing was a fifth of a beam-5 decoding step (profiled, RNN on dates).
    Returns leaves ``[N' * beam, ...]`` (per-source leaves ``[N', ...]`` if they were not repeated,
    ``per_source_repeated=False``: see :func:`repeat_state`).
    """
    if keep is None:
        rows = (torch.arange(0, active * beam, beam, device=back.device).unsqueeze(1) + back).view(-1)  # [N * K]
    else:
        rows = (keep.unsqueeze(1) * beam + back[keep]).view(-1)  # [N' * K]
    if keep is None or keep.numel() == active:
        return map_state(lambda t: t.index_select(0, rows.to(t.device)), state, lambda t: t, rows=True)
    if per_source_repeated:
        keep = (keep.unsqueeze(1) * beam + torch.arange(beam, device=keep.device)).view(-1)  # [N' * K]
    return map_state(lambda t: t.index_select(0, rows.to(t.device)), state,
                     lambda t: t.index_select(0, keep.to(t.device)), rows=True)


def repeat_state(state: S, k: int, *, per_source: bool = True) -> S:
    """Repeat every row ``k`` times in place: leaves ``[B, ...]`` become ``[B * k, ...]``.

    Rows of one sentence stay adjacent (``repeat_interleave``), so row ``b * k + j`` is beam ``j`` of
    sentence ``b`` — the flattening beam search uses. ``per_source=False`` leaves the :data:`PER_SOURCE`
    leaves at ``[B, ...]``, for a model whose steps read one row per sentence for its ``k`` beams
    (a state that says so with ``beams_share_source``).
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return map_state(lambda t: t.repeat_interleave(k, dim=0), state, None if per_source else (lambda t: t), rows=True)
