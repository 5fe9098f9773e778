"""A tiny dates model, trained once for the serve tests (a few seconds), and clients over it."""

import warnings
from pathlib import Path

import pytest

from attnkit.config import validate_config
from attnkit.training import train

with warnings.catch_warnings():  # starlette 1.x prefers the `httpx2` fork; `httpx` still works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TINY_SERVE = {
    "name": "tiny_serve",
    "seed": 7,
    "data": {"corpus": "dates", "train_size": 300, "tokenizer": {"kind": "char"}},
    "model": {"family": "rnn", "cell": "gru", "decoder": "bahdanau", "embed_dim": 8, "hidden_dim": 16},
    "train": {"max_tokens": 600, "max_steps": 12, "eval_every": 6, "eval_max_sentences": 20, "save_every": 6,
              "log_every": 4, "warmup_steps": 2, "threads": 1},
    "decode": {"beam": 3, "batch_size": 16},
}


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("serve") / "tiny"
    train(validate_config(TINY_SERVE), out, resume=False, progress=False)
    return out


@pytest.fixture
def make_client(model_dir):
    """``make_client(limits=..., names=[...])`` -> a TestClient over the tiny model (under each name)."""
    from attnkit.serve import create_app

    clients = []

    def make(limits=None, names=("tiny",)) -> TestClient:
        client = TestClient(create_app(dict.fromkeys(names, model_dir), limits=limits))
        clients.append(client.__enter__())  # runs the app's lifespan (shut down on teardown)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()
