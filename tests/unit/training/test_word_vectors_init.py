"""model.word_vectors=word2vec: a fresh run's embedding rows are word2vec vectors of the training text
(the rest of the model as without them), dev text never reaches word2vec, a resumed run trains none,
and only han, classifier and matcher take the keys."""

import csv
import importlib.util
import json
import random
import re

import pytest
import torch
import yaml

from attnkit.config import load_config, validate_config
from attnkit.data.documents import PAD_ID
from attnkit.data.word_vectors import sentences_of, train_word2vec
from attnkit.errors import ConfigError
from attnkit.training import classify, train
from attnkit.training.classify import ClassificationTask, MatchingTask, build_labelled_model

needs_gensim = pytest.mark.skipif(importlib.util.find_spec("gensim") is None,
                                  reason="gensim is not installed (pip install 'attnkit[word2vec]')")
TOPICS = {"sport": "ball goal team kick score".split(), "food": "bread soup salt cook bake".split()}
RARE = "once"  # in one training text only: below min_freq, so a hash bucket, yet word2vec context
DEV_ONLY = "zebra"


def _text(rng: random.Random, topic: str) -> str:
    return " ".join(rng.choices(TOPICS[topic], k=6)).capitalize() + ". The end."


@pytest.fixture
def files(tmp_path):
    rng = random.Random(0)
    docs = {"train": [(_text(rng, t), t) for t in ["sport", "food"] * 15],
            "dev": [(f"{DEV_ONLY} {_text(rng, t)}", t) for t in ["sport", "food"] * 3]}
    docs["train"][0] = (f"{RARE} {docs['train'][0][0]}", docs["train"][0][1])
    out = {}
    for split, rows in docs.items():
        out[f"{split}_csv"] = path = tmp_path / f"{split}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([("text", "label"), *rows])
        out[f"{split}_jsonl"] = path = tmp_path / f"{split}.jsonl"
        path.write_text("".join(json.dumps({"text_a": a, "text_b": rows[i - 1][0], "label": i % 2}) + "\n"
                                for i, (a, _) in enumerate(rows)), encoding="utf-8")
    return out


def _config(files, family: str) -> dict:
    ext = "jsonl" if family == "matcher" else "csv"
    return {"seed": 5,
            "data": {"corpus": "files", "train": {"src": str(files[f"train_{ext}"])},
                     "dev": {"src": str(files[f"dev_{ext}"])}, "tokenizer": {"min_freq": 2, "oov_buckets": 3}},
            "model": {"family": family, "embed_dim": 8, **({"num_heads": 2, "ff_dim": 8} if family == "classifier"
                                                              else {"hidden_dim": 4}),
                      "word_vectors": "word2vec", "word2vec_epochs": 3, "word2vec_window": 2},
            "train": {"max_steps": 2, "eval_every": 2, "save_every": 2, "max_tokens": 400, "threads": 1}}


def _task(config, model_dir):
    task = (MatchingTask if config.model.family == "matcher" else ClassificationTask)(config, model_dir)
    task.prepare(resuming=False)
    return task


@needs_gensim
@pytest.mark.parametrize("family", ["han", "classifier", "matcher"])
def test_embedding_rows_are_the_word2vec_vectors(files, tmp_path, family):
    config = validate_config(_config(files, family))
    task = _task(config, tmp_path)
    torch.manual_seed(0)
    model = task.build_model()
    torch.manual_seed(0)
    plain = build_labelled_model(config, task.vocab.vocab_size, len(task.labels.names))
    expected = train_word2vec(sentences_of(task.training_texts()), task.vocab, dim=8, window=2, epochs=3, seed=5,
                              rms=8**-0.5)
    filled, weight = expected.filled, model.embed.weight.detach()
    assert expected.num_filled == len(task.vocab.itos) - 2  # every vocabulary word has a vector
    assert torch.equal(weight[filled], expected.vectors[filled])
    assert (weight[PAD_ID] == 0).all()
    assert torch.equal(weight[~filled], plain.embed.weight[~filled])  # <unk>, hash buckets: their random init
    assert not torch.equal(weight, plain.embed.weight)
    rest = {k: v for k, v in model.state_dict().items() if k != "embed.weight"}
    assert all(torch.equal(v, plain.state_dict()[k]) for k, v in rest.items())  # word2vec drew no torch RNG


@needs_gensim
@pytest.mark.parametrize("family", ["han", "matcher"])
def test_word2vec_sees_the_training_text_only(files, tmp_path, monkeypatch, family):
    seen = []

    def spy(sentences, vocab, **kw):
        seen.extend(sentences)
        return train_word2vec(sentences, vocab, **kw)

    monkeypatch.setattr(classify, "train_word2vec", spy)
    _task(validate_config(_config(files, family)), tmp_path).build_model()
    words = {w for s in seen for w in s}
    assert DEV_ONLY not in words and RARE in words and {"ball", "bread", "end", "."} <= words
    assert all(w == w.lower() for w in words)
    if family == "matcher":  # each distinct text once, though every text is in two pairs
        assert len(seen) == 2 * 30


@needs_gensim
def test_a_resumed_run_does_not_train_word_vectors_again(files, tmp_path, monkeypatch):
    model_dir = tmp_path / "han"
    train(validate_config(_config(files, "han")), model_dir, resume=False, progress=False)
    assert re.search(r"word vectors: word2vec .* \d+ of \d+ vocabulary words got a vector",
                     (model_dir / "train.log").read_text())
    saved = load_config(model_dir / "config.yaml")  # the keys survive config.yaml, so resuming compares them
    assert (saved.model.word_vectors, saved.model.word2vec_epochs, saved.model.word2vec_window) == ("word2vec", 3, 2)

    def refuse(*args, **kwargs):
        raise AssertionError("word2vec ran on resume")

    monkeypatch.setattr(classify, "train_word2vec", refuse)
    raw = _config(files, "han")
    raw["train"]["max_steps"] = 4
    summary = train(validate_config(raw), model_dir, progress=False)
    assert summary["steps"] == 4 and "resumed from step 2" in (model_dir / "train.log").read_text()


def test_without_the_option_no_word2vec_runs(files, tmp_path, monkeypatch):
    monkeypatch.setattr(classify, "train_word2vec", lambda *a, **k: pytest.fail("word2vec ran"))
    raw = _config(files, "han")
    for key in ("word_vectors", "word2vec_epochs", "word2vec_window"):
        del raw["model"][key]
    config = validate_config(raw)
    assert (config.model.word_vectors, config.model.word2vec_epochs, config.model.word2vec_window) == ("none", 5, 5)
    _task(config, tmp_path).build_model()


@pytest.mark.parametrize(("family", "corpus"), [("han", "fortunes"), ("classifier", "wordnet"),
                                                 ("matcher", "bible_match")])
def test_the_keys_belong_to_han_classifier_and_matcher(family, corpus):
    config = validate_config({"data": {"corpus": corpus}, "model": {"family": family, "word_vectors": "word2vec",
                                                                    "word2vec_epochs": 2, "word2vec_window": 3}})
    assert config.model.word_vectors == "word2vec"
    assert build_labelled_model(config, vocab_size=20, num_classes=2).embed.weight.shape == (20, 64)


@pytest.mark.parametrize(("raw", "message"), [
    ({"model": {"family": "rnn", "word_vectors": "word2vec"}},
     "model.word_vectors does not apply to family 'rnn' (its keys: "),
    ({"model": {"family": "transformer", "word2vec_epochs": 3}},
     "model.word2vec_epochs does not apply to family 'transformer'"),
    ({"data": {"corpus": "fortunes"}, "model": {"family": "han", "word_vectors": "glove"}},
     "'model.word_vectors': Input should be 'none' or 'word2vec'"),
    ({"data": {"corpus": "fortunes"}, "model": {"family": "han", "word2vec_window": 0}}, "'model.word2vec_window'"),
])
def test_the_keys_are_refused_elsewhere_and_checked(raw, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        validate_config(raw)


def test_recipes_may_set_the_keys(tmp_path):
    path = tmp_path / "han.yaml"
    path.write_text(yaml.safe_dump({"data": {"corpus": "fortunes"}, "model": {"family": "han"}}))
    assert load_config(path, ["model.word_vectors=word2vec", "model.word2vec_epochs=7"]).model.word2vec_epochs == 7
