"""Shared test settings and the one tiny model every end-to-end test may reuse."""

import copy
import os
from pathlib import Path

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
