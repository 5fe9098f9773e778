"""map_state / select_state / repeat_state rebuild any nesting and touch only tensor leaves."""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pytest
import torch
from torch import Tensor

from attnkit.decoding import map_state, repeat_state, select_state


class Pair(NamedTuple):
    keys: Tensor  # [B, S, D]
    label: Any


@dataclass(frozen=True)
class Inner:
    x: Tensor  # [B, D]
    name: str
    nothing: None = None


@dataclass
class Outer:
    inner: Inner
    pairs: list[Pair]
    table: dict[str, Any]
    rest: tuple[Any, ...]
    doubled: Tensor = field(init=False)  # [B, D]

    def __post_init__(self) -> None:
        self.doubled = self.inner.x * 2


def make_state(batch: int = 4) -> Outer:
    x = torch.arange(batch * 3, dtype=torch.float32).view(batch, 3)  # [B, 3]
    keys = torch.arange(batch * 2 * 3).view(batch, 2, 3)  # [B, 2, 3]
    table = OrderedDict(mask=torch.arange(batch) % 2 == 0, steps=7, empty=None)
    counts: defaultdict[str, Any] = defaultdict(int, h=torch.ones(batch, 5))
    return Outer(Inner(x, "enc"), [Pair(keys, "layer0"), Pair(keys + 100, None)], table, (counts, "tag", None, 3.5))


def test_select_reorders_every_tensor_leaf_and_keeps_types():
    state = make_state()
    index = torch.tensor([2, 0, 2])
    out = select_state(state, index)
    assert type(out) is Outer and type(out.inner) is Inner and type(out.pairs[0]) is Pair
    assert type(out.table) is OrderedDict and type(out.rest[0]) is defaultdict and out.rest[0]["missing"] == 0
    torch.testing.assert_close(out.inner.x, state.inner.x[[2, 0, 2]], rtol=0, atol=0)
    torch.testing.assert_close(out.doubled, state.doubled[[2, 0, 2]], rtol=0, atol=0)
    torch.testing.assert_close(out.pairs[1].keys, state.pairs[1].keys[[2, 0, 2]], rtol=0, atol=0)
    torch.testing.assert_close(out.table["mask"], torch.tensor([True, True, True]), rtol=0, atol=0)
    assert out.rest[0]["h"].shape == (3, 5)
    assert out.inner.name == "enc" and out.inner.nothing is None and out.pairs[0].label == "layer0"
    assert out.table["steps"] == 7 and out.table["empty"] is None and out.rest[1:] == ("tag", None, 3.5)
    assert state.inner.x.shape == (4, 3)  # the input is not modified


def test_repeat_interleaves_rows_for_beams():
    state = make_state(batch=2)
    out = repeat_state(state, 3)
    torch.testing.assert_close(out.inner.x, state.inner.x.repeat_interleave(3, dim=0), rtol=0, atol=0)
    torch.testing.assert_close(out.inner.x[3:6], state.inner.x[1].expand(3, 3), rtol=0, atol=0)  # row b*K + j
    assert out.pairs[0].keys.shape == (6, 2, 3) and out.table["mask"].shape == (6,) and out.rest[0]["h"].shape == (6, 5)


def test_map_visits_each_tensor_leaf_once_and_shares_the_rest():
    state = make_state()
    seen = []
    out = map_state(lambda t: seen.append(t.shape) or t.float() + 1, state)
    # inner.x, doubled, the two Pair keys, table["mask"], rest[0]["h"]; ints, strings and None are not visited
    assert sorted(tuple(s) for s in seen) == sorted([(4, 3), (4, 3), (4, 2, 3), (4, 2, 3), (4,), (4, 5)])
    torch.testing.assert_close(out.inner.x, state.inner.x + 1, rtol=0, atol=0)
    assert out.rest[1] is state.rest[1] and out.pairs[0].label is state.pairs[0].label


def test_plain_containers_and_bare_leaves():
    t = torch.arange(6).view(3, 2)
    assert select_state(None, torch.tensor([0])) is None
    assert select_state("text", torch.tensor([0])) == "text"
    out = select_state([t, (t, {"a": t, "b": [None, 1]})], torch.tensor([1]))
    assert isinstance(out, list) and isinstance(out[1], tuple) and out[1][1]["b"] == [None, 1]
    torch.testing.assert_close(out[1][1]["a"], t[1:2], rtol=0, atol=0)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="1-D integer"):
        select_state(make_state(), torch.tensor([True, False, True, False]))
    with pytest.raises(ValueError, match="k must be >= 1"):
        repeat_state(make_state(), 0)


@dataclass
class BeamState:
    hidden: Tensor  # [B, D] per beam
    memory: Tensor = field(metadata={"per_source": True})  # [B, S] per sentence
    nested: tuple[Tensor, ...] = field(default=(), metadata={"per_source": True})


def test_select_beams_follows_backpointers_and_moves_per_source_rows_only_with_sentences():
    from attnkit.decoding import select_beams

    beam, sentences = 3, 4
    hidden = torch.arange(sentences * beam, dtype=torch.float32)[:, None]  # row r = r
    memory = torch.arange(sentences).repeat_interleave(beam)[:, None] * 10  # equal across a sentence's beams
    state = BeamState(hidden, memory, (memory + 1,))
    back = torch.tensor([[2, 2, 0], [1, 0, 0], [0, 1, 2], [2, 1, 1]])  # [N, K]
    everyone = select_beams(state, torch.arange(sentences), back, beam, sentences)
    assert everyone.hidden[:, 0].tolist() == [2, 2, 0, 4, 3, 3, 6, 7, 8, 11, 10, 10]
    assert everyone.memory is memory and everyone.nested[0] is state.nested[0]  # not copied at all
    keep = torch.tensor([1, 3])
    some = select_beams(state, keep, back, beam, sentences)
    assert some.hidden[:, 0].tolist() == [4, 3, 3, 11, 10, 10]
    assert some.memory[:, 0].tolist() == [10, 10, 10, 30, 30, 30]
    assert some.nested[0][:, 0].tolist() == [11, 11, 11, 31, 31, 31]
    # the same as selecting every leaf along the backpointers, since per-source rows are equal in a sentence
    full = select_state(state, (keep[:, None] * beam + back[keep]).view(-1))
    assert torch.equal(full.memory, some.memory) and torch.equal(full.hidden, some.hidden)


def test_per_source_rows_can_stay_one_per_sentence():
    from attnkit.decoding import select_beams

    beam, sentences = 3, 4
    state = BeamState(torch.arange(sentences, dtype=torch.float32)[:, None], torch.arange(sentences)[:, None] * 10)
    repeated = repeat_state(state, beam, per_source=False)
    assert repeated.hidden[:, 0].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert repeated.memory is state.memory  # one row per sentence, not copied
    back = torch.tensor([[2, 2, 0], [1, 0, 0], [0, 1, 2], [2, 1, 1]])
    everyone = select_beams(repeated, torch.arange(sentences), back, beam, sentences, per_source_repeated=False)
    assert everyone.memory is state.memory
    some = select_beams(repeated, torch.tensor([1, 3]), back, beam, sentences, per_source_repeated=False)
    assert some.memory[:, 0].tolist() == [10, 30] and some.hidden.size(0) == 2 * beam


@dataclass
class GatheredState:
    cache: Tensor = field(metadata={"gathered": True})  # [M, D]: row rows[n] belongs to row n
    rows: Tensor  # [B]


def test_gathered_leaves_stay_put_while_their_index_is_selected_and_repeated():
    from attnkit.decoding import select_beams

    beam, sentences = 2, 3
    cache = torch.arange(sentences, dtype=torch.float32)[:, None] * 100  # one row per sentence
    state = repeat_state(GatheredState(cache, torch.arange(sentences)), beam)
    assert state.cache is cache and state.rows.tolist() == [0, 0, 1, 1, 2, 2]
    state = GatheredState(torch.arange(6, dtype=torch.float32)[:, None], torch.arange(6))  # a step later
    back = torch.tensor([[1, 1], [0, 1], [1, 0]])
    moved = select_beams(state, torch.tensor([0, 2]), back, beam, sentences)
    assert moved.cache is state.cache and moved.rows.tolist() == [1, 1, 5, 4]
    twice = select_state(moved, torch.tensor([3, 0]))  # selections compose through the index
    assert twice.rows.tolist() == [4, 1] and twice.cache[twice.rows, 0].tolist() == [4, 1]
    assert map_state(lambda t: t + 1, state).cache[0, 0] == 1  # map_state itself still visits every leaf
