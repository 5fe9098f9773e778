"""Tiny models trained once for the serve tests (a few seconds in all), and clients over them.

The translation model is the session's ``tiny_model_dir``; the classifier (HAN) and the matcher come
from ``tiny_labelled.py`` beside this file, the vision models from ``tiny_vision.py``, both loaded by
path since the tests are not a package.
"""

import importlib.util
import sys
import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():  # starlette 1.x prefers the `httpx2` fork; `httpx` still works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _load_helper(file: str):
    """A helper module beside this file (``tiny_labelled.py``, ``tiny_vision.py``), one copy per session."""
    name = f"attnkit_tests_{Path(file).stem}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(file))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def load_tiny_labelled():
    """The helper module that trains the tiny classifier and matcher."""
    return _load_helper("tiny_labelled.py")


@pytest.fixture(scope="session")
def model_dir(tiny_model_dir) -> Path:
    return tiny_model_dir


@pytest.fixture(scope="session")
def han_dir(tmp_path_factory) -> Path:
    """A HAN classifier over three topics (weather, kitchen, sport); see ``tiny_labelled.TOPICS``."""
    return load_tiny_labelled().tiny_labelled_dir("han", tmp_path_factory)


@pytest.fixture(scope="session")
def flat_dir(tmp_path_factory) -> Path:
    """A flat Transformer classifier (attention pooling) of the same documents."""
    return load_tiny_labelled().tiny_labelled_dir("classifier", tmp_path_factory)


@pytest.fixture(scope="session")
def matcher_dir(tmp_path_factory) -> Path:
    """A co-attention matcher of sentence pairs (label 'match' when both share a topic)."""
    return load_tiny_labelled().tiny_labelled_dir("matcher", tmp_path_factory)


@pytest.fixture(scope="session")
def vision_dirs(tmp_path_factory) -> dict:
    """``{"scenes", "clips", "ram", "cnn"}`` -> a tiny model of each vision family; see ``tiny_vision.py``."""
    return _load_helper("tiny_vision.py").tiny_vision_dirs(tmp_path_factory)


@pytest.fixture
def serve_dirs():
    """``serve_dirs({"name": dir, ...}, limits=...)`` -> a TestClient over those models."""
    from attnkit.serve import create_app

    clients = []

    def make(dirs: dict, limits=None) -> TestClient:
        client = TestClient(create_app(dirs, limits=limits))
        clients.append(client.__enter__())  # runs the app's lifespan (shut down on teardown)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def make_client(serve_dirs, model_dir):
    """``make_client(limits=..., names=[...])`` -> a TestClient over the tiny model (under each name)."""

    def make(limits=None, names=("tiny",)) -> TestClient:
        return serve_dirs(dict.fromkeys(names, model_dir), limits=limits)

    return make


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()


@pytest.fixture
def mixed_client(serve_dirs, model_dir, han_dir, matcher_dir) -> TestClient:
    """One server with a model of each task: ``tiny`` (translate), ``han`` (classify), ``pairs`` (match)."""
    return serve_dirs({"tiny": model_dir, "han": han_dir, "pairs": matcher_dir})
