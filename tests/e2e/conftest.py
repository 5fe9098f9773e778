"""Tiny configurations for end-to-end runs through the command line."""

from pathlib import Path

import pytest
import yaml

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
def tiny_config(tmp_path: Path):
    """Write the tiny config (optionally changed) and return its path."""

    def make(**sections) -> Path:
        cfg = {k: dict(v) if isinstance(v, dict) else v for k, v in TINY.items()}
        for section, values in sections.items():
            cfg[section] = {**cfg.get(section, {}), **values} if isinstance(values, dict) else values
        path = tmp_path / f"tiny_{len(list(tmp_path.glob('tiny_*.yaml')))}.yaml"
        path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
        return path

    return make
