"""Every shipped recipe loads, validates and builds its model."""

import re
from pathlib import Path

import pytest

from attnkit.config import apply_overrides, load_config
from attnkit.errors import ConfigError
from attnkit.training import build_model
from attnkit.training.classify import build_labelled_model
from attnkit.training.vision import build_vision_model

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))


def test_there_are_configs():
    assert len(CONFIGS) >= 4


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_loads_and_builds(path):
    config = load_config(path)
    if config.model.task == "translate":
        shared = config.data.tokenizer.shared
        model = build_model(config, src_vocab=50, tgt_vocab=50 if shared else 60)
    elif config.model.task in ("caption", "classify_images"):
        model = build_vision_model(config, vocab_size=50, num_classes=3)
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


def test_vision_configs_fill_defaults_and_round_trip(tmp_path):
    from attnkit.config import dump_config, validate_config

    config = validate_config({"data": {"corpus": "clips"}, "model": {"family": "video_captioner"}})
    assert (config.data.image_size, config.train.batch_size, config.data.tokenizer.kind) == (48, 32, "word")
    assert config.train.early_stopping_metric == "bleu" and config.decode.max_len_offset == 40
    dump_config(config, tmp_path / "config.yaml")
    saved = (tmp_path / "config.yaml").read_text()
    assert "frames:" in saved and "objects:" not in saved and "clutter:" not in saved  # only the corpus's keys
    assert load_config(tmp_path / "config.yaml") == config
    text = validate_config({})
    dump_config(text, tmp_path / "text.yaml")
    assert "image_size" not in (tmp_path / "text.yaml").read_text() and load_config(tmp_path / "text.yaml") == text


@pytest.mark.parametrize(("raw", "message"), [
    ({"data": {"corpus": "scenes", "frames": 5}, "model": {"family": "captioner"}},
     "data.frames does not apply to corpus 'scenes'"),
    ({"data": {"corpus": "dates", "image_size": 64}}, "data.image_size does not apply to corpus 'dates'"),
    ({"data": {"corpus": "clips"}, "model": {"family": "captioner"}}, "takes one of scenes"),
    ({"data": {"corpus": "cluttered"}, "model": {"family": "ram", "channels": [8]}},
     "model.channels does not apply to family 'ram'"),
    ({"data": {"corpus": "clips", "frames": 6}, "model": {"family": "video_captioner"}}, "data.frames=6 is too few"),
    ({"data": {"corpus": "scenes", "image_size": 40}, "model": {"family": "captioner"}}, "too small"),
    ({"data": {"corpus": "scenes", "tokenizer": {"kind": "char"}}, "model": {"family": "captioner"}},
     "captions use kind=word"),
    ({"data": {"corpus": "cluttered"}, "model": {"family": "cnn_classifier"},
      "train": {"early_stopping_metric": "bleu"}}, "choose one of accuracy, macro_f1, loss"),
])
def test_vision_keys_are_checked(raw, message):
    from attnkit.config import validate_config

    with pytest.raises(ConfigError, match=re.escape(message)):
        validate_config(raw)


def test_readout_is_checked_against_the_decoder():
    from attnkit.config import validate_config

    assert validate_config({"model": {"readout": "context"}}).model.builder_kwargs()["readout"] == "context"
    with pytest.raises(ConfigError, match=re.escape("model.readout=context applies to decoder 'bahdanau' only")):
        validate_config({"model": {"decoder": "luong", "readout": "context"}})
    with pytest.raises(ConfigError, match=r"model\.readout"):
        validate_config({"model": {"family": "transformer", "readout": "context"}})


def test_coattention_words_is_checked_against_coattention():
    from attnkit.config import validate_config

    match = {"corpus": "bible_match"}
    cfg = validate_config({"data": match, "model": {"family": "matcher", "coattention_words": True}})
    assert cfg.model.builder_kwargs()["coattention_words"] is True
    with pytest.raises(ConfigError, match=re.escape("model.coattention_words=true needs model.coattention=true")):
        validate_config({"data": match,
                         "model": {"family": "matcher", "coattention": False, "coattention_words": True}})
    with pytest.raises(ConfigError, match=r"model\.coattention_words does not apply to family 'han'"):
        validate_config({"data": {"corpus": "debian"}, "model": {"family": "han", "coattention_words": True}})
