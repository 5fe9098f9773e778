import numpy as np
import pytest

from attnkit.data.cluttered import make_cluttered
from attnkit.data.fashion import FASHION_ROOT, write_fashion_mnist
from attnkit.errors import DataError

REAL = (FASHION_ROOT / "train-images-idx3-ubyte.gz").is_file()


def _value(label: int) -> int:
    return 100 + 10 * label


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """Items that are a 20x20 block of _value(label) inside a blank 4 px border."""
    root = tmp_path_factory.mktemp("fashion")
    for split, n in (("train", 100), ("test", 30)):
        labels = np.arange(n) % 10
        images = np.zeros((n, 28, 28), dtype=np.uint8)
        for i, label in enumerate(labels):
            images[i, 4:24, 4:24] = _value(label)
        write_fashion_mnist(root, split, images, labels)
    return root


def test_shapes_and_determinism(root):
    images, labels, boxes = make_cluttered("train", 40, root=root)
    assert images.shape == (40, 60, 60) and images.dtype == np.float32
    assert labels.shape == (40,) and labels.dtype == np.int64 and boxes.shape == (40, 4)
    assert images.min() >= 0.0 and images.max() <= 1.0
    again = make_cluttered("train", 40, root=root)
    np.testing.assert_array_equal(images, again[0])
    np.testing.assert_array_equal(boxes, again[2])
    assert not np.array_equal(images, make_cluttered("train", 40, seed=1, root=root)[0])


def test_item_is_inside_its_box(root):
    images, labels, boxes = make_cluttered("dev", 60, size=50, clutter=6, root=root)
    for image, label, (x0, y0, x1, y1) in zip(images, labels, boxes, strict=True):
        assert 0 <= x0 < x1 <= 50 and 0 <= y0 < y1 <= 50 and (x1 - x0, y1 - y0) == (28, 28)
        block = image[y0 + 4:y0 + 24, x0 + 4:x0 + 24]
        assert (block >= _value(label) / 255 - 1e-6).all()  # clutter may only brighten the item


def test_without_clutter_only_the_item_has_ink(root):
    images, labels, boxes = make_cluttered("test", 30, clutter=0, root=root)
    for image, label, (x0, y0, _, _) in zip(images, labels, boxes, strict=True):
        inside = np.zeros_like(image, dtype=bool)
        inside[y0 + 4:y0 + 24, x0 + 4:x0 + 24] = True
        np.testing.assert_allclose(image[inside], _value(label) / 255)
        assert not image[~inside].any()


def test_clutter_adds_ink_outside_the_item(root):
    images, _, boxes = make_cluttered("train", 50, clutter=4, root=root)
    outside = 0
    for image, (x0, y0, x1, y1) in zip(images, boxes, strict=True):
        rest = image.copy()
        rest[y0:y1, x0:x1] = 0
        outside += bool(rest.any())
        assert (image > 0).sum() <= 20 * 20 + 4 * 8 * 8
    assert outside >= 40


def test_positions_cover_the_canvas(root):
    _, _, boxes = make_cluttered("train", 300, root=root)
    assert boxes[:, 0].min() <= 2 and boxes[:, 0].max() >= 30 and boxes[:, 1].min() <= 2 and boxes[:, 1].max() >= 30


def test_bad_arguments(root):
    with pytest.raises(ValueError, match="size"):
        make_cluttered("train", 1, size=20, root=root)
    with pytest.raises(ValueError, match="clutter"):
        make_cluttered("train", 1, clutter=-1, root=root)
    with pytest.raises(DataError, match="valid splits"):
        make_cluttered("validation", 1, root=root)


@pytest.mark.skipif(not REAL, reason="dataset-fashion-mnist is not installed")
def test_real_cluttered():
    images, labels, _ = make_cluttered("test", 100)
    assert images.shape == (100, 60, 60) and len(set(labels.tolist())) == 10
