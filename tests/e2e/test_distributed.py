"""``torchrun --nproc_per_node 2 -m attnkit train``: two CPU processes (gloo) train like one process with
the same global batch."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from attnkit.training.checkpoint import load_training_state

TORCHRUN = Path(sys.executable).with_name("torchrun")


def _train(cfg: Path, model_dir: Path, processes: int) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    if processes == 1:
        cmd = [sys.executable, "-m", "attnkit", "train", str(cfg), "--model-dir", str(model_dir), "--no-progress"]
    else:
        cmd = [str(TORCHRUN), "--standalone", f"--nproc_per_node={processes}", "-m", "attnkit", "train", str(cfg),
               "--model-dir", str(model_dir), "--no-progress"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _step_losses(model_dir: Path) -> list[float]:
    return [float(x) for x in re.findall(r"nll/token ([0-9.]+)", (model_dir / "train.log").read_text())]


@pytest.mark.skipif(not TORCHRUN.is_file(), reason="torchrun is not installed beside this Python")
@pytest.mark.parametrize("family", ["rnn", "transformer"])
def test_two_processes_train_like_one(tiny_dict, tmp_path, family):
    tiny_dict["model"] = {**tiny_dict["model"], "dropout": 0.0} if family == "rnn" else {
        "family": "transformer", "embed_dim": 16, "num_heads": 2, "ff_dim": 32, "dropout": 0.0}
    tiny_dict["train"].update(max_steps=6, log_every=1, eval_every=6, save_every=6)
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(tiny_dict), encoding="utf-8")
    one, two = tmp_path / "one", tmp_path / "two"
    _train(cfg, one, 1)
    out = _train(cfg, two, 2)
    assert out.count("model directory:") == 1  # rank 0 alone reports

    losses_one, losses_two = _step_losses(one), _step_losses(two)
    assert len(losses_one) == len(losses_two) == 6
    assert losses_one == pytest.approx(losses_two, abs=2e-4)  # (logged with 4 decimals)
    a, b = load_training_state(one / "last.pt")["model"], load_training_state(two / "last.pt")["model"]
    for name in a:
        if name.endswith("k_proj.bias"):
            # A key bias shifts every score of a query equally: softmax cancels it, its true gradient is 0
            # and Adam turns the rounding noise left in its place into full-size steps, different per run.
            continue
        torch.testing.assert_close(a[name], b[name], rtol=1e-4, atol=1e-5, msg=name)
    assert sorted(p.name for p in two.iterdir()) == sorted(p.name for p in one.iterdir())


@pytest.mark.skipif(not TORCHRUN.is_file(), reason="torchrun is not installed beside this Python")
def test_two_processes_resume_an_interrupted_run(tiny_config, tmp_path):
    cfg = tiny_config(model={"dropout": 0.0}, train={"max_steps": 8, "save_every": 4, "eval_every": 4})
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    _train(cfg, straight, 2)
    short = tmp_path / "short.yaml"
    shutil.copy(cfg, short)
    short.write_text(cfg.read_text().replace("max_steps: 8", "max_steps: 4"))
    _train(short, resumed, 2)
    assert load_training_state(resumed / "last.pt")["train_state"]["step"] == 4
    _train(cfg, resumed, 2)
    assert "resumed from step 4" in (resumed / "train.log").read_text()
    a, b = load_training_state(straight / "last.pt")["model"], load_training_state(resumed / "last.pt")["model"]
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-5, atol=1e-6, msg=name)
