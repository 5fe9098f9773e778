"""A tiny dates model, trained once for the serve tests (a few seconds), and clients over it."""

import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():  # starlette 1.x prefers the `httpx2` fork; `httpx` still works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

@pytest.fixture(scope="session")
def model_dir(tiny_model_dir) -> Path:
    return tiny_model_dir


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
