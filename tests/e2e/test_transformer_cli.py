"""The Transformer through the same command line as the RNNs: train, translate, attention pictures, align,
evaluate, serve."""

import json

import pytest

from attnkit.cli import main


@pytest.fixture(scope="module")
def transformer_dir(tmp_path_factory):
    import yaml

    root = tmp_path_factory.mktemp("transformer")
    cfg = {"name": "tiny_transformer", "seed": 3,
           "data": {"corpus": "dates", "train_size": 300, "tokenizer": {"kind": "char"}},
           "model": {"family": "transformer", "embed_dim": 16, "num_heads": 2, "ff_dim": 32, "encoder_layers": 2,
                     "decoder_layers": 2, "tie_embeddings": True},
           "train": {"max_tokens": 600, "max_steps": 6, "eval_every": 6, "eval_max_sentences": 10, "threads": 1},
           "decode": {"beam": 2, "batch_size": 16}}
    (root / "t.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    assert main(["train", str(root / "t.yaml"), "--model-dir", str(root / "model"), "--no-progress"]) == 0
    return root / "model"


def test_translate_writes_alignment_head_views_and_rollout(transformer_dir, tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text("3 March 1998\n", encoding="utf-8")
    out = tmp_path / "att"
    assert main(["translate", str(transformer_dir), "--input", str(src), "--attention", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["0001.png", "0001_encoder_heads.png", "0001_heads.png", "0001_rollout.png"]
    assert all((out / n).stat().st_size > 1000 for n in names)
    capsys.readouterr()
    assert main(["translate", str(transformer_dir), "--input", str(src), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert len(record["attention"]) == len(record["tgt_tokens"])


def test_align_and_evaluate_use_the_transformers_attention(transformer_dir, tmp_path, capsys):
    (tmp_path / "src.txt").write_text("3 March 1998\n", encoding="utf-8")
    (tmp_path / "tgt.txt").write_text("1998-03-03\n", encoding="utf-8")
    assert main(["align", str(transformer_dir), "--input", str(tmp_path / "src.txt"),
                 "--target", str(tmp_path / "tgt.txt")]) == 0
    links = capsys.readouterr().out.split()
    assert len(links) == len("1998-03-03") and all("-" in x for x in links)
    assert main(["evaluate", str(transformer_dir), "--src", str(tmp_path / "src.txt"),
                 "--ref", str(tmp_path / "tgt.txt"), "--beam", "1"]) == 0
    assert "exact_match" in capsys.readouterr().out


def test_served_transformer_returns_every_layer_and_head(transformer_dir):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from attnkit.serve import create_app

    with TestClient(create_app({"t": transformer_dir})) as client:
        body = client.post("/translate", json={"sentences": ["3 March 1998"], "beam": 2, "attention": True}).json()
    hyp = body["translations"][0]["hypotheses"][0]
    layers = hyp["attention_layers"]
    assert {(x["layer"], x["head"]) for x in layers} == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert all(len(x["weights"]) == len(hyp["tgt_tokens"]) for x in layers)
    assert all(len(row) == len(hyp["src_tokens"]) for row in layers[0]["weights"])
