"""Train -> translate -> evaluate through the ``attnkit`` command line, on tiny configurations."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from attnkit.cli import main
from attnkit.decoding import beam_search, greedy_search
from attnkit.training import Translator
from attnkit.training.checkpoint import load_training_state


def run_cli(*args: str) -> int:
    return main([str(a) for a in args])


def test_train_translate_evaluate(tiny_config, tmp_path, capsys):
    model_dir = tmp_path / "model"
    assert run_cli("train", tiny_config(), "--model-dir", model_dir, "--no-progress") == 0
    for name in ("config.yaml", "src.tokenizer.json", "tgt.tokenizer.json", "model.safetensors", "last.pt",
                 "metrics.json", "train.log", "curves.png", "history.json"):
        assert (model_dir / name).is_file(), name
    src = tmp_path / "src.txt"
    src.write_text("3 March 1998\n12/25/07\n", encoding="utf-8")
    ref = tmp_path / "ref.txt"
    ref.write_text("1998-03-03\n2007-12-25\n", encoding="utf-8")
    capsys.readouterr()
    assert run_cli("translate", model_dir, "--input", src, "--n-best", "2", "--beam", "3") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and lines[0].startswith("0 ||| ") and lines[2].startswith("1 ||| ")
    assert run_cli("translate", model_dir, "--input", src, "--json") == 0
    records = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(records) == 2
    assert len(records[0]["attention"]) == len(records[0]["tgt_tokens"])
    assert len(records[0]["attention"][0]) == len(records[0]["src_tokens"]) == len("3 March 1998")
    assert run_cli("evaluate", model_dir, "--src", src, "--ref", ref, "--beam", "2") == 0
    out = capsys.readouterr().out
    assert "BLEU signature: nrefs:1" in out
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert {"bleu", "chrf", "exact_match", "dev"} <= set(metrics)


def test_beam_one_equals_greedy_on_a_trained_model(tiny_config, tmp_path):
    model_dir = tmp_path / "model"
    run_cli("train", tiny_config(), "--model-dir", model_dir, "--no-progress")
    tr = Translator.from_dir(model_dir)
    ids = [tr.src_tok.encode(s) for s in ("3 March 1998", "martes, 3 de marzo de 1998", "03/03/98")]
    src = torch.nn.utils.rnn.pad_sequence([torch.tensor(i) for i in ids], batch_first=True)
    mask = src != 0
    greedy = greedy_search(tr.model, src, mask)
    beam = beam_search(tr.model, src, mask, beam=1)
    for g, b in zip(greedy, beam, strict=True):
        assert g[0].tokens == b[0].tokens
        torch.testing.assert_close(torch.tensor(g[0].score), torch.tensor(b[0].score), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(g[0].attn, b[0].attn, rtol=1e-5, atol=1e-6)


def _params(model_dir: Path) -> dict:
    return load_training_state(model_dir / "last.pt")["model"]


def test_decoding_batches_at_once_gives_the_same_results(tiny_config, tmp_path):
    model_dir = tmp_path / "model"
    run_cli("train", tiny_config(), "--model-dir", model_dir, "--no-progress")
    tr = Translator.from_dir(model_dir)
    sentences = ["3 March 1998", "martes, 3 de marzo de 1998", "03/03/98", "12/25/07", "1 Jan 2000",
                 "July 4, 1776", "4 de julio de 1776", "2001-09-11", "Dec 31 1999"] * 2
    for beam in (1, 3):
        one = tr.translate(sentences, beam=beam, n_best=beam, batch_size=2, workers=1)
        many = tr.translate(sentences, beam=beam, n_best=beam, batch_size=2, workers=3)
        for a, b in zip(one, many, strict=True):
            assert [(h.text, h.score) for h in a] == [(h.text, h.score) for h in b]
            assert all(torch.equal(x.attn, y.attn) for x, y in zip(a, b, strict=True))
        text = tr.translate(sentences, beam=beam, n_best=beam, batch_size=2, workers=1, attention=False)
        forked = tr.translate(sentences, beam=beam, n_best=beam, batch_size=2, workers=2, attention=False,
                              processes=True)  # as `attnkit translate` decodes text
        assert [[(h.text, h.score) for h in a] for a in text] == [[(h.text, h.score) for h in b] for b in forked]
        assert [[(h.text, h.score) for h in a] for a in text] == [[(h.text, h.score) for h in b] for b in one]


def test_resume_reaches_the_same_parameters(tiny_config, tmp_path):
    cfg = tiny_config()
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    run_cli("train", cfg, "--model-dir", straight, "--no-progress")
    run_cli("train", cfg, "--model-dir", resumed, "--no-progress", "train.max_steps=5")  # stops mid-epoch
    assert load_training_state(resumed / "last.pt")["train_state"]["step"] == 5
    run_cli("train", cfg, "--model-dir", resumed, "--no-progress")  # resumes to max_steps=12
    assert "resumed from step 5" in (resumed / "train.log").read_text()
    a, b = _params(straight), _params(resumed)
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=k)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_saves_state_and_resume_completes(tiny_config, tmp_path, sig):
    cfg = tiny_config(train={"max_steps": 100000, "eval_every": 100000, "save_every": 100000, "log_every": 1})
    model_dir = tmp_path / "model"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "attnkit", "train", str(cfg), "--model-dir", str(model_dir),
                             "--no-progress"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    log = model_dir / "train.log"
    deadline = time.time() + 120
    while time.time() < deadline and not (log.is_file() and "step 3 " in log.read_text()):
        time.sleep(0.2)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out.decode()
    step = load_training_state(model_dir / "last.pt")["train_state"]["step"]
    assert step >= 3
    assert run_cli("train", cfg, "--model-dir", model_dir, "--no-progress", f"train.max_steps={step + 2}") == 0
    assert load_training_state(model_dir / "last.pt")["train_state"]["step"] == step + 2
    straight = tmp_path / "straight"  # the same run, never interrupted
    assert run_cli("train", cfg, "--model-dir", straight, "--no-progress", f"train.max_steps={step + 2}") == 0
    a, b = _params(model_dir), _params(straight)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=k)


def test_resume_with_a_different_model_is_refused(tiny_config, tmp_path, capsys):
    model_dir = tmp_path / "model"
    run_cli("train", tiny_config(train={"max_steps": 2}), "--model-dir", model_dir, "--no-progress")
    assert run_cli("train", tiny_config(model={"hidden_dim": 32}), "--model-dir", model_dir, "--no-progress") == 2
    assert "different configuration" in capsys.readouterr().err


def test_resume_from_a_state_that_no_longer_fits_the_model_is_refused(tiny_config, tmp_path, capsys):
    from attnkit.training.checkpoint import save_training_state

    model_dir, cfg = tmp_path / "model", tiny_config(train={"max_steps": 2})
    run_cli("train", cfg, "--model-dir", model_dir, "--no-progress")
    state = load_training_state(model_dir / "last.pt")
    name = next(iter(state["model"]))
    state["model"][name] = torch.zeros(3, 1)  # as if the model code had changed since the run began
    save_training_state(model_dir / "last.pt", {k: v for k, v in state.items() if k != "format"})
    capsys.readouterr()
    assert run_cli("train", tiny_config(train={"max_steps": 4}), "--model-dir", model_dir, "--no-progress") == 2
    err = capsys.readouterr().err
    assert "does not fit the model that config.yaml builds now" in err and "--fresh" in err


@pytest.mark.parametrize("decoder", ["luong", "none"])
def test_other_decoders_train_and_translate(tiny_config, tmp_path, decoder, capsys):
    model_dir = tmp_path / decoder
    cfg = tiny_config(model={"decoder": decoder, "score": "general", "cell": "lstm"}, train={"max_steps": 4})
    assert run_cli("train", cfg, "--model-dir", model_dir, "--no-progress") == 0
    capsys.readouterr()
    (tmp_path / "in.txt").write_text("5 May 2005\n", encoding="utf-8")
    assert run_cli("translate", model_dir, "--input", tmp_path / "in.txt", "--json") == 0
    rec = json.loads(capsys.readouterr().out)
    attn = torch.tensor(rec["attention"])
    if decoder == "none":
        assert (attn == 0).all()  # no attention to show
    else:
        torch.testing.assert_close(attn.sum(-1), torch.ones(attn.size(0)), atol=1e-3, rtol=0)
