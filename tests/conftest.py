"""Shared test settings and the one tiny model every end-to-end test may reuse."""

import copy
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import settings

os.environ.setdefault("TQDM_DISABLE", "1")
torch.set_num_threads(min(2, torch.get_num_threads()))
settings.register_profile("attnkit", deadline=None, max_examples=40, derandomize=True)
settings.load_profile("attnkit")

# A dates model small enough to train in a few seconds: for tests of the plumbing, not of quality.
TINY = {
    "name": "tiny",
    "seed": 7,
    "data": {"corpus": "dates", "train_size": 300, "tokenizer": {"kind": "char"}},
    "model": {"family": "rnn", "cell": "gru", "decoder": "bahdanau", "embed_dim": 8, "hidden_dim": 16},
    "train": {"max_tokens": 600, "max_steps": 12, "eval_every": 6, "eval_max_sentences": 20, "save_every": 4,
              "log_every": 2, "warmup_steps": 2, "threads": 1},
    "decode": {"beam": 3, "batch_size": 16},
}


@pytest.fixture
def tiny_dict() -> dict:
    """A fresh copy of the tiny configuration, free to change."""
    return copy.deepcopy(TINY)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """The tiny configuration trained once per session (tests must not change its weights)."""
    from attnkit.config import validate_config
    from attnkit.training import train

    out = tmp_path_factory.mktemp("tiny_model") / "model"
    train(validate_config(copy.deepcopy(TINY)), out, resume=False, progress=False)
    return out


def _synthetic_fashion(root: Path, per_class: dict[str, int]) -> None:
    """A stand-in for Fashion-MNIST, written as its four IDX files: every class a bright rectangle of its own
    shape on a dark ground, with pixel noise (learnable, distinct per class), so that the vision tests run
    on a machine without Debian's dataset-fashion-mnist."""
    from attnkit.data.fashion import write_fashion_mnist

    rng = np.random.default_rng(0)
    for split, n in per_class.items():
        labels = np.repeat(np.arange(10), n)
        images = rng.integers(0, 40, (len(labels), 28, 28)).astype(np.uint8)
        for i, label in enumerate(labels):
            height, width = 6 + 2 * (label % 5), 6 + 4 * (label // 5) + label % 3
            top, left = (28 - height) // 2, (28 - width) // 2
            images[i, top:top + height, left:left + width] = 200 + rng.integers(0, 56)
        order = rng.permutation(len(labels))
        write_fashion_mnist(root, split, images[order], labels[order])


@pytest.fixture(scope="session", autouse=True)
def fashion_mnist(tmp_path_factory):
    """Debian's Fashion-MNIST where installed; otherwise a small synthetic set in its format, pointed at by
    ATTNKIT_FASHION_DIR for the whole session (tests that need the real images check for them and skip)."""
    from attnkit.data.fashion import fashion_root

    if (fashion_root() / "train-images-idx3-ubyte.gz").is_file():
        yield fashion_root()
        return
    root = tmp_path_factory.mktemp("synthetic_fashion")
    _synthetic_fashion(root, {"train": 60, "test": 20})
    before = os.environ.get("ATTNKIT_FASHION_DIR")
    os.environ["ATTNKIT_FASHION_DIR"] = str(root)
    yield root
    if before is None:
        os.environ.pop("ATTNKIT_FASHION_DIR", None)
    else:
        os.environ["ATTNKIT_FASHION_DIR"] = before
