import gzip
import struct

import numpy as np
import pytest

from attnkit.data.fashion import (
    CLASSES,
    FASHION_ROOT,
    WORDS,
    fashion_split,
    item_pool,
    load_fashion_mnist,
    read_idx,
    split_rng,
    write_fashion_mnist,
    write_idx,
)
from attnkit.errors import DataError

REAL = (FASHION_ROOT / "train-images-idx3-ubyte.gz").is_file()


def _fake(root, n_train=50, n_test=20):
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("test", n_test)):
        write_fashion_mnist(root, split, rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), np.arange(n) % 10)
    return root


def _write_raw(path, payload: bytes):
    with gzip.open(path, "wb") as f:
        f.write(payload)


def test_idx_round_trip(tmp_path):
    images = np.arange(3 * 28 * 28, dtype=np.int64).reshape(3, 28, 28).astype(np.uint8)
    labels = np.array([7, 0, 9], dtype=np.uint8)
    write_idx(tmp_path / "i.gz", images)
    write_idx(tmp_path / "l.gz", labels)
    np.testing.assert_array_equal(read_idx(tmp_path / "i.gz"), images)
    np.testing.assert_array_equal(read_idx(tmp_path / "l.gz"), labels)
    with gzip.open(tmp_path / "i.gz", "rb") as f:  # the header is the documented big-endian one
        assert struct.unpack(">IIII", f.read(16)) == (2051, 3, 28, 28)


def test_load_fake_root(tmp_path):
    root = _fake(tmp_path)
    images, labels = load_fashion_mnist("train", root=root)
    assert images.shape == (50, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (50,) and labels.dtype == np.int64
    assert labels.tolist() == [i % 10 for i in range(50)]
    assert not images.flags.writeable and not labels.flags.writeable  # the cached arrays are protected
    assert load_fashion_mnist("test", root=root)[0].shape == (20, 28, 28)


def test_missing_file_names_the_file_and_the_package(tmp_path):
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz.*dataset-fashion-mnist"):
        load_fashion_mnist("train", root=tmp_path)


def test_bad_magic(tmp_path):
    _fake(tmp_path)
    _write_raw(tmp_path / "t10k-labels-idx1-ubyte.gz", struct.pack(">II", 2050, 20) + bytes(20))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: IDX magic number 2050"):
        load_fashion_mnist("test", root=tmp_path)


def test_truncated_data(tmp_path):
    _fake(tmp_path)
    _write_raw(tmp_path / "t10k-images-idx3-ubyte.gz", struct.pack(">IIII", 2051, 20, 28, 28) + bytes(100))
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz: header promises 20x28x28"):
        load_fashion_mnist("test", root=tmp_path)


def test_not_gzip(tmp_path):
    _fake(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"not a gzip file at all")
    with pytest.raises(DataError, match="not a readable gzip file"):
        load_fashion_mnist("test", root=tmp_path)


def test_images_and_labels_must_agree(tmp_path):
    _fake(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(19, dtype=np.uint8))
    with pytest.raises(DataError, match=r"20 images but .* 19 labels"):
        load_fashion_mnist("test", root=tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.full(20, 10, dtype=np.uint8))
    with pytest.raises(DataError, match="label 10 out of range"):
        load_fashion_mnist("test", root=tmp_path)  # failures are not cached


def test_unknown_split(tmp_path):
    with pytest.raises(DataError, match="valid splits: train, test"):
        load_fashion_mnist("dev", root=_fake(tmp_path))
    with pytest.raises(DataError, match="valid splits: train, dev, test"):
        fashion_split("validation", root=tmp_path)


def test_dev_is_the_end_of_train(tmp_path):
    root = _fake(tmp_path)
    train, dev, test = (fashion_split(s, root) for s in ("train", "dev", "test"))
    assert train[2].tolist() == list(range(45)) and dev[2].tolist() == list(range(45, 50))
    assert test[2].tolist() == list(range(20))
    full = load_fashion_mnist("train", root)[0]
    np.testing.assert_array_equal(dev[0], full[45:])


def test_item_pool_draws_distinct_classes(tmp_path):
    pool = item_pool("train", _fake(tmp_path))
    rng = np.random.default_rng(1)
    for _ in range(50):
        rows = pool.draw(rng, 4)
        assert len(set(pool.labels[rows].tolist())) == 4
    with pytest.raises(DataError, match="distinct classes"):
        pool.draw(rng, 11)


def test_split_rng_streams():
    draw = lambda *a: split_rng(*a).integers(1 << 30, size=4).tolist()  # noqa: E731
    assert draw("scenes", "train", 3) == draw("scenes", "train", 3)
    assert draw("scenes", "train", 3) != draw("scenes", "dev", 3)
    assert draw("scenes", "train", 3) != draw("clips", "train", 3)


def test_words_are_distinct_single_nouns_taking_a():
    assert len(WORDS) == len(CLASSES) == 10 and len(set(WORDS)) == 10
    for word in WORDS:
        assert word.isalpha() and word.islower() and word[0] not in "aeiou"
    assert WORDS[0] == "top" and WORDS[6] == "shirt" and WORDS[9] == "boot"


@pytest.mark.skipif(not REAL, reason="dataset-fashion-mnist is not installed")
def test_real_files():
    images, labels = load_fashion_mnist("train")
    assert images.shape == (60000, 28, 28) and labels.shape == (60000,)
    assert np.bincount(labels).tolist() == [6000] * 10
    assert load_fashion_mnist("test")[0].shape == (10000, 28, 28)
    assert len(fashion_split("dev")[0]) == 6000 and len(fashion_split("train")[0]) == 54000
    assert images.max() == 255 and images.mean() > 50  # real garments, not an empty file
