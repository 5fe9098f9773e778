"""Batch-first decoder state: map, select and repeat every tensor leaf of a nested state.

A model's ``State`` (what ``encode`` returns and ``decode_step`` threads through) may be any nesting of
dataclasses, NamedTuples, tuples, lists and dicts. Search only ever needs three things from it: keep
some rows (sentences that are still running, beams that survived), repeat rows (one copy per beam) and,
more generally, apply a function to every tensor. So decoding never has to know what a model stores.

Legend: B batch, K beam, N rows kept.

Contract: every Tensor leaf is batch-first (dim 0 = batch). ``None`` and non-tensor leaves (ints,
strings, modules, ...) pass through unchanged and are shared, not copied.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import Tensor

__all__ = ["map_state", "repeat_state", "select_state"]

S = TypeVar("S")


def _map_dataclass(fn: Callable[[Tensor], Tensor], obj: Any) -> Any:
    fields = dataclasses.fields(obj)
    # replace() re-runs __init__ (and __post_init__) with the init fields; fields declared init=False
    # are not accepted by replace(), so they are written afterwards (object.__setattr__ works on frozen).
    changes = {f.name: map_state(fn, getattr(obj, f.name)) for f in fields if f.init}
    new = dataclasses.replace(obj, **changes)
    for f in fields:
        if not f.init and hasattr(obj, f.name):
            object.__setattr__(new, f.name, map_state(fn, getattr(obj, f.name)))
    return new


def map_state(fn: Callable[[Tensor], Tensor], state: S) -> S:
    """Apply ``fn`` to every Tensor leaf of ``state`` and rebuild the same structure around the results.

    Containers are rebuilt with their own type: dataclasses through :func:`dataclasses.replace`,
    NamedTuples through ``_make``, tuples/lists through their constructor, dicts (including
    ``OrderedDict``/``defaultdict``) as a shallow copy with new values. Anything else is returned as is.
    """
    if isinstance(state, Tensor):
        return fn(state)
    if dataclasses.is_dataclass(state) and not isinstance(state, type):
        return _map_dataclass(fn, state)
    if isinstance(state, tuple) and hasattr(state, "_fields"):  # NamedTuple
        return type(state)._make(map_state(fn, v) for v in state)
    if isinstance(state, (tuple, list)):
        return type(state)(map_state(fn, v) for v in state)
    if isinstance(state, dict):
        new = copy.copy(state)  # keeps the dict subclass and e.g. a defaultdict's factory
        for key, value in state.items():
            new[key] = map_state(fn, value)
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
    return map_state(lambda t: t.index_select(0, index.to(t.device)), state)


def repeat_state(state: S, k: int) -> S:
    """Repeat every row ``k`` times in place: leaves ``[B, ...]`` become ``[B * k, ...]``.

    Rows of one sentence stay adjacent (``repeat_interleave``), so row ``b * k + j`` is beam ``j`` of
    sentence ``b`` — the flattening beam search uses.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return map_state(lambda t: t.repeat_interleave(k, dim=0), state)
