"""Train -> classify / match -> evaluate through the ``attnkit`` command line, on tiny generated corpora."""

import csv
import json
import random

import pytest
import yaml

from attnkit.cli import main

TOPICS = {"sport": ["ball", "goal", "team"], "food": ["bread", "soup", "salt"], "tech": ["code", "disk", "kernel"]}
FILLER = "the a of and it is was very some this that with".split()


def _document(rng: random.Random, label: str) -> str:
    sentences = []
    for _ in range(rng.randint(2, 3)):
        words = rng.choices(FILLER, k=rng.randint(3, 6))
        words.insert(rng.randrange(len(words) + 1), rng.choice(TOPICS[label]))
        sentences.append(" ".join(words).capitalize() + ".")
    return " ".join(sentences)


@pytest.fixture
def corpora(tmp_path):
    rng = random.Random(0)
    docs, pairs = tmp_path / "docs.csv", tmp_path / "pairs.jsonl"
    with docs.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        for i in range(45):
            label = list(TOPICS)[i % 3]
            writer.writerow([_document(rng, label), label])
    with pairs.open("w", encoding="utf-8") as fh:
        for i in range(40):
            a = _document(rng, "sport")
            b = a if i % 2 else _document(rng, "food")
            fh.write(json.dumps({"text_a": a, "text_b": b, "label": i % 2}) + "\n")
    return docs, pairs


def _config(tmp_path, name: str, data_file, model: dict) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({
        "name": name,
        "data": {"corpus": "files", "train": {"src": str(data_file)}, "dev": {"src": str(data_file)},
                 "test": {"src": str(data_file)}, "tokenizer": {"min_freq": 1}},
        "model": {"embed_dim": 8, "hidden_dim": 6, **model},
        "train": {"max_steps": 6, "eval_every": 6, "save_every": 6, "max_tokens": 600, "lr": 0.01}}))
    return str(path)


def test_han_train_classify_evaluate(corpora, tmp_path, capsys):
    docs, _ = corpora
    model_dir = tmp_path / "han"
    config = _config(tmp_path, "han", docs, {"family": "han", "attention_dim": 6})
    assert main(["train", config, "--model-dir", str(model_dir), "--no-progress"]) == 0
    for name in ("vocab.json", "labels.json", "model.safetensors", "curves.png", "metrics.json"):
        assert (model_dir / name).is_file(), name
    assert "macro_f1=" in capsys.readouterr().out
    text = tmp_path / "in.txt"
    text.write_text("The team kicked the ball. It was a goal.\nSome bread and soup.\n", encoding="utf-8")
    assert main(["classify", str(model_dir), "--input", str(text), "--json", "--attention", str(tmp_path / "att")]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) == 2 and records[0]["label"] in TOPICS
    assert abs(sum(records[0]["probs"].values()) - 1) < 1e-4
    assert [len(s) for s in records[0]["tokens"]] == [len(s) for s in records[0]["word_weights"]] == [6, 5]
    assert abs(sum(records[0]["sentence_weights"]) - 1) < 1e-4
    assert all(abs(sum(w) - 1) < 1e-4 for w in records[0]["word_weights"])
    assert sorted(p.name for p in (tmp_path / "att").iterdir()) == ["0001.html", "0002.html"]
    assert main(["evaluate", str(model_dir), "--report", str(tmp_path / "report")]) == 0
    out = capsys.readouterr().out
    assert "macro_f1" in out and "examples     45" in out
    assert (model_dir / "confusion_test.png").is_file()
    index = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    assert "confusion matrix" in index and "example_01.html" in index
    assert json.loads((model_dir / "metrics.json").read_text())["test"]["examples"] == 45


def test_matcher_train_match_evaluate(corpora, tmp_path, capsys):
    _, pairs = corpora
    model_dir = tmp_path / "matcher"
    assert main(["train", _config(tmp_path, "m", pairs, {"family": "matcher"}), "--model-dir", str(model_dir),
                 "--no-progress"]) == 0
    capsys.readouterr()
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("the ball and the goal\tthe goal and the ball\nsoup\tkernel disk\n", encoding="utf-8")
    assert main(["match", str(model_dir), "--input", str(tsv), "--json", "--attention", str(tmp_path / "co")]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["label"] in ("match", "different") for r in records] == [True, True]
    assert len(records[0]["attn_ab"]) == 5 and len(records[0]["attn_ab"][0]) == 5
    assert (tmp_path / "co" / "0001.png").is_file()
    assert main(["evaluate", str(model_dir)]) == 0
    assert "accuracy" in capsys.readouterr().out


def test_task_mismatch_and_bad_input_are_clear_errors(corpora, tmp_path, capsys, tiny_model_dir):
    docs, _ = corpora
    model_dir = tmp_path / "han"
    main(["train", _config(tmp_path, "han", docs, {"family": "han"}), "--model-dir", str(model_dir), "--no-progress"])
    capsys.readouterr()
    assert main(["classify", str(tiny_model_dir), "--input", str(docs)]) == 2
    assert "use `attnkit translate`" in capsys.readouterr().err
    assert main(["match", str(model_dir), "--input", str(docs)]) == 2
    assert "use `attnkit classify`" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("text,category\nhello there,x\n", encoding="utf-8")
    assert main(["evaluate", str(model_dir), "--file", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv" in err and "label" in err
    tsv = tmp_path / "one_field.tsv"
    tsv.write_text("only one text\n", encoding="utf-8")
    matcher_dir = tmp_path / "matcher"
    main(["train", _config(tmp_path, "m", corpora[1], {"family": "matcher"}), "--model-dir", str(matcher_dir),
          "--no-progress"])
    capsys.readouterr()
    assert main(["match", str(matcher_dir), "--input", str(tsv)]) == 2
    assert "line 1: expected two texts separated by one tab" in capsys.readouterr().err
    bad_config = tmp_path / "mix.yaml"
    bad_config.write_text("model: {family: han}\ndata: {corpus: dates}\n", encoding="utf-8")
    assert main(["train", str(bad_config), "--model-dir", str(tmp_path / "x")]) == 2
    assert "data.corpus=dates is not a classify corpus" in capsys.readouterr().err
