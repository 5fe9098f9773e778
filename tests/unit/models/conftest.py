"""Fixtures shared by the model tests."""

import pytest
import torch


@pytest.fixture
def one_thread():
    """Tensors in these tests are tiny: a second intra-op thread only adds synchronisation, which is slow on
    a busy CPU. Opt in with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
