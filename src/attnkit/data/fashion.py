"""Fashion-MNIST (Xiao et al. 2017) read from the gzipped IDX files of Debian's ``dataset-fashion-mnist``.

The files live in :data:`FASHION_ROOT`: ``{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``, 60,000 training
and 10,000 test images of 28x28 grey pixels (uint8, 0 = background) with labels 0-9.

IDX layout (LeCun's MNIST format): a big-endian header, then the raw bytes. Images: magic 2051
(``0x00000803``: unsigned bytes, 3 dimensions), count, rows, columns (16 bytes); labels: magic 2049
(``0x00000801``: unsigned bytes, 1 dimension), count (8 bytes).

The built-in vision corpora (:mod:`~attnkit.data.scenes`, :mod:`~attnkit.data.video`,
:mod:`~attnkit.data.cluttered`) draw their items through :func:`fashion_split`, which cuts a dev split off
the end of the training file so that no image is shared by two splits.

Caption words (:data:`WORDS`): one distinct lower-case noun per class, without an article, none starting
with a vowel (so the article is always ``a``). The official names are shortened: ``T-shirt/top`` -> ``top``
and ``Shirt`` -> ``shirt`` (each keeps the word of its own name, so a ``shirt`` is the class called Shirt),
``Trouser`` -> ``trouser`` (singular, so that ``a trouser`` parses like every other item), ``Ankle boot``
-> ``boot``.
"""
# N images, H height (rows), W width (columns)

from __future__ import annotations

import gzip
import os
import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from attnkit.errors import DataError

__all__ = [
    "CLASSES",
    "DEV_FRACTION",
    "FASHION_ROOT",
    "ITEM_SIZE",
    "WORDS",
    "ItemPool",
    "fashion_root",
    "fashion_split",
    "item_pool",
    "load_fashion_mnist",
    "read_idx",
    "split_rng",
    "write_fashion_mnist",
    "write_idx",
]

FASHION_ROOT = Path("/usr/share/datasets/fashion-mnist")
PACKAGE = "dataset-fashion-mnist"
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
           "Ankle boot")
WORDS = ("top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot")
ITEM_SIZE = 28
DEV_FRACTION = 0.1  # of the training file, taken from its end: 6,000 images

SPLITS = ("train", "dev", "test")

_FILES = {"train": "train", "test": "t10k"}
_IMAGES_MAGIC, _LABELS_MAGIC = 2051, 2049


def fashion_root(root: str | Path | None = None) -> Path:
    """The Fashion-MNIST directory: ``root`` if given, else ``$ATTNKIT_FASHION_DIR`` if set, else
    :data:`FASHION_ROOT` (Debian's)."""
    if root is not None:
        return Path(root).expanduser()
    return Path(os.environ.get("ATTNKIT_FASHION_DIR") or FASHION_ROOT).expanduser()


def _missing(path: Path) -> DataError:
    return DataError(f"{path}: Fashion-MNIST file not found; install the Debian package {PACKAGE} "
                     f"(apt-get install {PACKAGE}), or point ATTNKIT_FASHION_DIR (or root=) at a directory "
                     "holding the four *-ubyte.gz files")


def read_idx(path: str | Path) -> np.ndarray:
    """Read one gzipped IDX file of unsigned bytes (magic 2049 -> ``[N]``, 2051 -> ``[N, H, W]``).

    Raises :class:`~attnkit.errors.DataError` naming the file when it is missing, not gzip, truncated, or
    has a magic number or size that does not match its header.
    """
    path = Path(path)
    if not path.is_file():
        raise _missing(path)
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"{path}: not a readable gzip file ({err}); reinstall {PACKAGE}") from err
    if len(raw) < 8:
        raise DataError(f"{path}: {len(raw)} bytes is too short for an IDX header; reinstall {PACKAGE}")
    magic, count = struct.unpack(">II", raw[:8])
    if magic == _LABELS_MAGIC:
        shape, offset = (count,), 8
    elif magic == _IMAGES_MAGIC:
        if len(raw) < 16:
            raise DataError(f"{path}: truncated IDX image header; reinstall {PACKAGE}")
        rows, cols = struct.unpack(">II", raw[8:16])
        shape, offset = (count, rows, cols), 16
    else:
        raise DataError(f"{path}: IDX magic number {magic}, expected {_IMAGES_MAGIC} (images) or "
                        f"{_LABELS_MAGIC} (labels); is this a Fashion-MNIST file?")
    expected = int(np.prod(shape))
    if len(raw) - offset != expected:
        raise DataError(f"{path}: header promises {'x'.join(map(str, shape))} = {expected} bytes of data, "
                        f"the file holds {len(raw) - offset}; the file is truncated or corrupt, reinstall {PACKAGE}")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(shape)


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write a uint8 array ``[N]`` (labels) or ``[N, H, W]`` (images) as a gzipped IDX file."""
    array = np.asarray(array)
    if array.dtype != np.uint8 or array.ndim not in (1, 3):
        raise ValueError(f"write_idx needs uint8 [N] or [N, H, W], got {array.dtype} {array.shape}")
    magic = _LABELS_MAGIC if array.ndim == 1 else _IMAGES_MAGIC
    header = struct.pack(f">I{array.ndim}I", magic, *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array).tobytes())


def write_fashion_mnist(root: str | Path, split: str, images: np.ndarray, labels: np.ndarray) -> None:
    """Write ``uint8 [N, 28, 28]`` images and their labels as the two files of ``split`` (``"train"`` or
    ``"test"``) under ``root``, named as Fashion-MNIST's, so that ``root=`` can point at a custom set."""
    if split not in _FILES:
        raise DataError(f"unknown Fashion-MNIST split {split!r}; valid splits: {', '.join(_FILES)}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    write_idx(root / f"{_FILES[split]}-images-idx3-ubyte.gz", np.asarray(images, dtype=np.uint8))
    write_idx(root / f"{_FILES[split]}-labels-idx1-ubyte.gz", np.asarray(labels, dtype=np.uint8))


@lru_cache(maxsize=4)
def _load(split: str, root: Path) -> tuple[np.ndarray, np.ndarray]:
    stem = _FILES[split]
    images_path, labels_path = root / f"{stem}-images-idx3-ubyte.gz", root / f"{stem}-labels-idx1-ubyte.gz"
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.shape[1:] != (ITEM_SIZE, ITEM_SIZE):
        raise DataError(f"{images_path}: expected {ITEM_SIZE}x{ITEM_SIZE} images, got shape {images.shape}")
    if labels.ndim != 1:
        raise DataError(f"{labels_path}: expected a label file (magic {_LABELS_MAGIC}), got images")
    if len(images) != len(labels):
        raise DataError(f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels; "
                        f"the two files must come from the same release, reinstall {PACKAGE}")
    if labels.size and labels.max() >= len(CLASSES):
        raise DataError(f"{labels_path}: label {int(labels.max())} out of range 0-{len(CLASSES) - 1}")
    labels = labels.astype(np.int64)
    labels.setflags(write=False)  # the arrays are cached: nobody may alter them (frombuffer ones already can't)
    return images, labels


def load_fashion_mnist(split: str = "train", root: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``"train"`` (60,000) or ``"test"`` (10,000) images ``uint8 [N, 28, 28]`` and labels ``int64 [N]``.

    The arrays are cached and read-only; copy them before writing. ``root`` is the directory of the four
    ``*-ubyte.gz`` files (default: :func:`fashion_root`).
    """
    if split not in _FILES:
        raise DataError(f"unknown Fashion-MNIST split {split!r}; valid splits: {', '.join(_FILES)} "
                        "(the vision corpora cut 'dev' off 'train' with fashion_split)")
    return _load(split, fashion_root(root))


def fashion_split(split: str, root: str | Path | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images, labels and file indices of a ``"train"``, ``"dev"`` or ``"test"`` split.

    ``train`` and ``dev`` partition the training file (dev is its last :data:`DEV_FRACTION`: 54,000 +
    6,000 images), ``test`` is the whole t10k file. The indices say where each image is in its file.
    """
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")
    images, labels = load_fashion_mnist("test" if split == "test" else "train", root)
    start, stop = 0, len(images)
    if split != "test":
        cut = len(images) - round(len(images) * DEV_FRACTION)
        start, stop = (0, cut) if split == "train" else (cut, len(images))
    if stop <= start:
        raise DataError(f"Fashion-MNIST under {fashion_root(root)} has no images for the {split!r} split")
    return images[start:stop], labels[start:stop], np.arange(start, stop)


@dataclass(frozen=True)
class ItemPool:
    """The images of one split with, per class, the positions of its images (for drawing scene items)."""

    images: np.ndarray  # uint8 [N, 28, 28]
    labels: np.ndarray  # int64 [N]
    index: np.ndarray  # [N] position of each image in its IDX file
    by_class: tuple[np.ndarray, ...]  # per class: positions into images

    def draw(self, rng: np.random.Generator, k: int) -> np.ndarray:
        """Positions of ``k`` images of ``k`` distinct classes, classes and images chosen uniformly."""
        present = [c for c, rows in enumerate(self.by_class) if len(rows)]
        if k > len(present):
            raise DataError(f"cannot draw {k} items of distinct classes: the split has {len(present)} classes")
        classes = rng.choice(present, size=k, replace=False)
        return np.array([self.by_class[c][rng.integers(len(self.by_class[c]))] for c in classes], dtype=np.int64)


@lru_cache(maxsize=6)
def _pool(split: str, root: Path) -> ItemPool:
    images, labels, index = fashion_split(split, root)
    by_class = tuple(np.flatnonzero(labels == c) for c in range(len(CLASSES)))
    return ItemPool(images, labels, index, by_class)


def item_pool(split: str, root: str | Path | None = None) -> ItemPool:
    """The cached :class:`ItemPool` of a ``"train"``, ``"dev"`` or ``"test"`` split (see :func:`fashion_split`)."""
    return _pool(split, fashion_root(root))


def split_rng(corpus: str, split: str, seed: int) -> np.random.Generator:
    """A generator for one corpus, split and seed: the same triple always gives the same stream, and
    different corpora or splits with one seed give unrelated streams."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return np.random.default_rng([seed, zlib.crc32(corpus.encode()), SPLITS.index(split)])
