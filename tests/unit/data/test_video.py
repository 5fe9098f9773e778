import re

import numpy as np
import pytest

from attnkit.data.fashion import FASHION_ROOT, WORDS, write_fashion_mnist
from attnkit.data.video import clip_vocabulary, event_word_frames, make_clips
from attnkit.errors import DataError

REAL = (FASHION_ROOT / "train-images-idx3-ubyte.gz").is_file()
STEP = {"left": (0, -16), "right": (0, 16), "up": (-16, 0), "down": (16, 0)}  # (dy, dx): one 16 px cell
_EVENT = re.compile(r"(a|the) (\w+) (appears|disappears|moves)(?: (left|right|up|down))?")


def _value(label: int) -> int:
    return 100 + 15 * label


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """Items whose halved pixels still say their class: a 20x20 block of _value(label) at an even offset."""
    root = tmp_path_factory.mktemp("fashion")
    for split, n in (("train", 200), ("test", 40)):
        labels = np.arange(n) % 10
        images = np.zeros((n, 28, 28), dtype=np.uint8)
        for i, label in enumerate(labels):
            images[i, 4:24, 4:24] = _value(label)
        write_fashion_mnist(root, split, images, labels)
    return root


@pytest.fixture(scope="module")
def clips(root):
    return make_clips("train", 150, root=root)


def _centre(frame: np.ndarray, label: int) -> np.ndarray | None:
    """Centre (y, x) of the fully opaque pixels of the item of class ``label``, or None if it is not there."""
    ys, xs = np.nonzero(frame == _value(label))
    return np.array([ys.mean(), xs.mean()]) if len(ys) else None


def test_deterministic_and_prefix_stable(root, clips):
    again = make_clips("train", 150, root=root)
    assert [c.caption for c in again] == [c.caption for c in clips]
    assert all(np.array_equal(a.frames, b.frames) for a, b in zip(again, clips, strict=True))
    assert [c.caption for c in make_clips("train", 20, root=root)] == [c.caption for c in clips[:20]]
    assert [c.caption for c in make_clips("train", 20, seed=1, root=root)] != [c.caption for c in clips[:20]]


def test_events_are_ordered_and_exactly_when_frames_change(clips):
    for clip in clips:
        assert clip.frames.shape == (12, 48, 48) and clip.frames.dtype == np.uint8
        assert 2 <= len(clip.events) <= 3
        ends = [0] + [e.frames[1] for e in clip.events]
        for e, previous_end in zip(clip.events, ends, strict=False):
            assert previous_end <= e.frames[0] and e.frames[0] >= 1 and e.frames[1] - e.frames[0] >= 2
        active = {t for e in clip.events for t in range(*e.frames)}
        for t in range(1, 12):
            changed = not np.array_equal(clip.frames[t], clip.frames[t - 1])
            assert changed == (t in active), f"{clip.id}: frame {t}"


def test_caption_round_trips_to_the_events(clips):
    for clip in clips:
        tokens = clip.caption.split()
        chunks = clip.caption.split(" then ")
        assert len(chunks) == len(clip.events)
        mentioned: set[int] = set()
        for chunk, event in zip(chunks, clip.events, strict=True):
            m = _EVENT.fullmatch(chunk)
            assert m, f"{chunk!r} is not in the grammar"
            assert (m[2], m[3], m[4] or "") == (WORDS[event.label], event.kind, event.direction)
            assert m[1] == ("the" if event.label in mentioned else "a")
            assert " ".join(tokens[slice(*event.words)]) == chunk
            mentioned.add(event.label)
        assert len(set(clip.labels)) == len(clip.labels)


def test_frames_show_what_the_caption_says(clips):
    for clip in clips:
        for e in clip.events:
            before, after = clip.frames[e.frames[0] - 1], clip.frames[e.frames[1] - 1]
            start, end = _centre(before, e.label), _centre(after, e.label)
            if e.kind == "appears":
                assert start is None and end is not None
            elif e.kind == "disappears":
                assert start is not None and end is None
            else:
                np.testing.assert_allclose(end - start, STEP[e.direction])


def test_event_word_frames(clips):
    for clip in clips:
        pairs = event_word_frames(clip)
        tokens = clip.caption.split()
        assert sorted(t for t, _ in pairs) == [t for t, w in enumerate(tokens) if w != "then"]
        for t, frames in pairs:
            (event,) = [e for e in clip.events if e.words[0] <= t < e.words[1]]
            assert frames == set(range(*event.frames))


def test_vocabulary_and_kinds(clips):
    used = {w for c in clips for w in c.caption.split()}
    assert used <= set(clip_vocabulary())
    assert {"appears", "disappears", "moves", "then", "the"} <= used
    assert {e.kind for c in clips for e in c.events} == {"appears", "disappears", "moves"}


def test_other_sizes_and_bad_arguments(root):
    for clip in make_clips("dev", 10, frames=20, size=60, events=(4, 4), root=root):
        assert clip.frames.shape == (20, 60, 60) and len(clip.events) == 4
    with pytest.raises(ValueError, match="frames must be >= 7"):
        make_clips("train", 1, frames=6, root=root)
    with pytest.raises(ValueError, match="size"):
        make_clips("train", 1, size=40, root=root)
    with pytest.raises(DataError, match="valid splits"):
        make_clips("valid", 1, root=root)


@pytest.mark.skipif(not REAL, reason="dataset-fashion-mnist is not installed")
def test_real_test_clips():
    clips = make_clips("test", 10)
    assert all(c.frames[0].max() > 0 for c in clips)
