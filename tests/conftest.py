"""Shared test settings: deterministic torch, few threads, no hypothesis deadlines."""

import os

import torch
from hypothesis import settings

os.environ.setdefault("TQDM_DISABLE", "1")
torch.set_num_threads(min(2, torch.get_num_threads()))
settings.register_profile("attnkit", deadline=None, max_examples=40, derandomize=True)
settings.load_profile("attnkit")
