"""Every shipped recipe loads, validates and builds its model."""

from pathlib import Path

import pytest

from attnkit.config import apply_overrides, load_config
from attnkit.errors import ConfigError
from attnkit.training import build_model
from attnkit.training.classify import build_labelled_model

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))


def test_there_are_configs():
    assert len(CONFIGS) >= 4


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_loads_and_builds(path):
    config = load_config(path)
    if config.model.task == "translate":
        shared = config.data.tokenizer.shared
        model = build_model(config, src_vocab=50, tgt_vocab=50 if shared else 60)
    else:
        model = build_labelled_model(config, vocab_size=50, num_classes=3)
    assert sum(p.numel() for p in model.parameters()) > 0
    assert config.name == path.stem


def test_overrides_parse_yaml_scalars():
    raw = apply_overrides({}, ["train.max_steps=20", "model.dropout=0.3", "data.tokenizer.kind=word"])
    assert raw == {"train": {"max_steps": 20}, "model": {"dropout": 0.3}, "data": {"tokenizer": {"kind": "word"}}}
    with pytest.raises(ConfigError, match=r"section\.key=value"):
        apply_overrides({}, ["train.max_steps"])


def test_n_best_cannot_exceed_beam(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("decode: {beam: 2, n_best: 3}\n")
    with pytest.raises(ConfigError, match=r"n_best=3 cannot exceed decode\.beam=2"):
        load_config(path)
