import re

import numpy as np
import pytest

from attnkit.data.fashion import FASHION_ROOT, WORDS, fashion_split, write_fashion_mnist
from attnkit.data.scenes import caption_vocabulary, make_scenes, object_word_positions, relation
from attnkit.errors import DataError

REAL = (FASHION_ROOT / "train-images-idx3-ubyte.gz").is_file()
N_TRAIN, N_TEST = 300, 60


def _value(label: int) -> int:
    return 100 + 15 * label


def _items(n: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Items whose pixels say their class (a 20x20 block of _value(label)) and their index (pixel 0, 0)."""
    labels = (np.arange(n) * 7 + offset) % 10
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    for i, label in enumerate(labels):
        images[i, 4:24, 4:24] = _value(label)
        images[i, 0, 0] = 1 + (i + offset) % 250
    return images, labels


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("fashion")
    write_fashion_mnist(root, "train", *_items(N_TRAIN, 0))
    write_fashion_mnist(root, "test", *_items(N_TEST, 3))
    return root


# Test-only reader of the documented grammar.
_CLAUSE = re.compile(r"a (\w+)(?: ((?:above |below )?(?:left of |right of )?)(a|the) (\w+))?")


def parse(caption: str) -> tuple[list[str], list[tuple[int, int, str]]]:
    """Nouns in order of first mention, and (i, j, relation of object i to object j) triples."""
    nouns: list[str] = []
    relations = []
    for k, clause in enumerate(caption.split(" and ")):
        m = _CLAUSE.fullmatch(clause)
        assert m, f"{clause!r} of {caption!r} is not in the grammar"
        assert (k == 0) == (m[3] in (None, "a")) and bool(m[2]) == bool(m[3]), caption
        nouns.append(m[1])
        if m[3] == "a":
            nouns.append(m[4])
            relations.append((0, 1, m[2].strip()))
        elif m[3] == "the":
            assert m[4] == nouns[-2], f"{caption!r} must relate each new object to the one before"
            relations.append((len(nouns) - 1, len(nouns) - 2, m[2].strip()))
    return nouns, relations


def _cell(box, size=64):
    return box[1] // (size // 2), box[0] // (size // 2)  # (row, col)


def _expected(a, b):
    (ra, ca), (rb, cb) = _cell(a), _cell(b)
    vert = {-1: "above", 0: "", 1: "below"}[np.sign(ra - rb)]
    horiz = {-1: "left of", 0: "", 1: "right of"}[np.sign(ca - cb)]
    return " ".join(w for w in (vert, horiz) if w)


def test_deterministic_and_prefix_stable(root):
    a = make_scenes("train", 30, seed=4, root=root)
    b = make_scenes("train", 30, seed=4, root=root)
    c = make_scenes("train", 10, seed=4, root=root)
    for x, y in zip(a, b, strict=True):
        assert x.caption == y.caption and x.boxes == y.boxes and np.array_equal(x.image, y.image)
    assert [s.caption for s in a[:10]] == [s.caption for s in c]
    assert [s.caption for s in make_scenes("train", 30, seed=5, root=root)] != [s.caption for s in a]


def test_boxes_inside_disjoint_and_hold_their_item(root):
    train_images = fashion_split("train", root)[0]
    for scene in make_scenes("train", 200, objects=(1, 4), root=root):
        assert scene.image.shape == (64, 64) and scene.image.dtype == np.uint8
        covered = np.zeros((64, 64), dtype=int)
        for box, label, source in zip(scene.boxes, scene.labels, scene.sources, strict=True):
            x0, y0, x1, y1 = box
            assert 0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 64 and (x1 - x0, y1 - y0) == (28, 28)
            np.testing.assert_array_equal(scene.image[y0:y1, x0:x1], train_images[source])
            assert scene.image[(y0 + y1) // 2, (x0 + x1) // 2] == _value(label)
            covered[y0:y1, x0:x1] += 1
        assert covered.max() == 1, f"{scene.id}: objects overlap"
        assert not scene.image[covered == 0].any(), "ink outside every box"
        assert len(set(scene.labels)) == len(scene.labels)


def test_caption_parses_back_to_the_layout(root):
    seen = set()
    for scene in make_scenes("dev", 300, objects=(1, 4), root=root):
        nouns, relations = parse(scene.caption)
        assert nouns == [WORDS[label] for label in scene.labels]
        cells = [_cell(b) for b in scene.boxes]
        assert cells == sorted(cells, key=lambda rc: (rc[1], rc[0])), "objects must go by column, then row"
        for i, j, rel in relations:
            assert rel == _expected(scene.boxes[i], scene.boxes[j]) == relation(scene.boxes[i], scene.boxes[j])
            seen.add(rel)
    assert seen == {"left of", "right of", "above", "below", "above left of", "below left of", "above right of"}


def test_known_caption_shapes(root):
    one = make_scenes("train", 5, objects=(1, 1), root=root)
    assert all(re.fullmatch(r"a \w+", s.caption) for s in one)
    for s in make_scenes("train", 5, objects=(4, 4), root=root):
        assert sorted(_cell(b) for b in s.boxes) == [(0, 0), (0, 1), (1, 0), (1, 1)]
        assert s.caption.count(" and ") == 2 and s.caption.split()[2] == "above"  # top-left, then bottom-left


def test_object_word_positions_point_at_each_objects_word(root):
    for scene in make_scenes("test", 100, objects=(1, 4), root=root):
        tokens = scene.caption.split()
        positions = object_word_positions(scene)
        assert sorted({k for _, k in positions}) == list(range(len(scene.labels)))
        k = len(scene.labels)
        assert len(positions) == (2 * k - 2 if k > 2 else k)  # one "a" mention each, one "the" per later clause
        for t, k in positions:
            assert tokens[t] == WORDS[scene.labels[k]] and tokens[t - 1] in ("a", "the")
        assert [t for t, _ in positions] == [t for t, w in enumerate(tokens) if w in WORDS]


def test_vocabulary_is_exactly_what_captions_use(root):
    used = {w for s in make_scenes("train", 400, objects=(1, 4), root=root) for w in s.caption.split()}
    assert used == set(caption_vocabulary())
    assert caption_vocabulary() == sorted(caption_vocabulary())


def test_splits_never_share_an_image(root):
    n_dev = fashion_split("dev", root)[2].min()
    train = {i for s in make_scenes("train", 200, root=root) for i in s.sources}
    dev = {i for s in make_scenes("dev", 200, root=root) for i in s.sources}
    assert max(train) < n_dev <= min(dev)
    test_images = fashion_split("test", root)[0]
    for s in make_scenes("test", 20, root=root):  # test items come from the t10k file
        for (x0, y0, x1, y1), source in zip(s.boxes, s.sources, strict=True):
            np.testing.assert_array_equal(s.image[y0:y1, x0:x1], test_images[source])


def test_bad_arguments(root):
    with pytest.raises(ValueError, match="objects"):
        make_scenes("train", 1, objects=(0, 2), root=root)
    with pytest.raises(ValueError, match="objects"):
        make_scenes("train", 1, objects=(2, 5), root=root)
    with pytest.raises(ValueError, match="size"):
        make_scenes("train", 1, size=50, root=root)
    with pytest.raises(DataError, match="valid splits"):
        make_scenes("validation", 1, root=root)
    with pytest.raises(ValueError, match="overlap"):
        relation((0, 0, 28, 28), (10, 10, 38, 38))


def test_larger_canvas_keeps_the_grammar(root):
    for scene in make_scenes("train", 50, objects=(2, 4), size=100, root=root):
        cells = [(b[1] // 50, b[0] // 50) for b in scene.boxes]
        assert len(set(cells)) == len(cells) and all(0 <= v <= 100 for b in scene.boxes for v in b)
        parse(scene.caption)


@pytest.mark.skipif(not REAL, reason="dataset-fashion-mnist is not installed")
def test_real_dev_scenes():
    scenes = make_scenes("dev", 20)
    assert min(i for s in scenes for i in s.sources) >= 54000
    assert all(s.image.max() > 0 for s in scenes)
