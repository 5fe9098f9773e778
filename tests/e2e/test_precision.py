"""``train.precision=bf16``: the forward pass under bfloat16 autocast, float32 weights and loss."""

import copy
import math

import torch

from attnkit.config import validate_config
from attnkit.training import train
from attnkit.training.checkpoint import load_training_state


def test_bf16_autocast_trains_and_keeps_float32_weights(tiny_dict, tmp_path):
    tiny_dict["train"].update(precision="bf16", max_steps=12, eval_every=12)
    summary = train(validate_config(copy.deepcopy(tiny_dict)), tmp_path / "bf16", resume=False, progress=False)
    fp32 = train(validate_config({**tiny_dict, "train": {**tiny_dict["train"], "precision": "fp32"}}),
                 tmp_path / "fp32", resume=False, progress=False)
    loss_bf16, loss_fp32 = summary["history"][-1]["loss"], fp32["history"][-1]["loss"]
    assert math.isfinite(loss_bf16) and abs(loss_bf16 - loss_fp32) < 0.1 * loss_fp32
    assert loss_bf16 != loss_fp32  # autocast did change the arithmetic
    state = load_training_state(tmp_path / "bf16" / "last.pt")["model"]
    assert all(t.dtype == torch.float32 for t in state.values() if t.is_floating_point())
    assert "train.log" in {p.name for p in (tmp_path / "bf16").iterdir()}
