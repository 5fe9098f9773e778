"""Train -> caption -> evaluate through the ``attnkit`` command line for every vision family, on a few
generated images: the plumbing, not the quality (a handful of steps)."""

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from attnkit.cli import main
from attnkit.config import dump_config, validate_config
from attnkit.data import make_clips, make_cluttered, make_scenes
from attnkit.training.vision import evaluate_captioner, evaluate_image_classifier
from attnkit.training.vision_report import write_vision_report

TRAIN = {"max_steps": 3, "eval_every": 3, "save_every": 3, "log_every": 1, "batch_size": 8, "warmup_steps": 1,
         "eval_max_sentences": 4, "threads": 1}
CNN = {"channels": [4, 8, 8]}
DECODER = {"embed_dim": 8, "hidden_dim": 16, "attention_dim": 8}
CLUTTERED = {"corpus": "cluttered", "train_size": 16, "eval_size": 4}
FAMILIES = {
    "soft": ({"corpus": "scenes", "train_size": 16, "eval_size": 4}, {"family": "captioner", **CNN, **DECODER}),
    "hard": ({"corpus": "scenes", "train_size": 16, "eval_size": 4},
             {"family": "captioner", "attention": "hard", **CNN, **DECODER}),
    "video": ({"corpus": "clips", "train_size": 16, "eval_size": 4, "frames": 7},
              {"family": "video_captioner", **CNN, **DECODER}),
    "ram": (CLUTTERED, {"family": "ram", "glimpses": 2, "hidden_dim": 16}),
    "cnn": (CLUTTERED, {"family": "cnn_classifier", **CNN}),
}
MAX_WORDS = 4  # decode.max_len_offset: few words, so few overlays to draw


def _train(tmp_path, name: str, capsys) -> str:
    data, model = FAMILIES[name]
    config = tmp_path / f"{name}.yaml"
    config.write_text(yaml.safe_dump({"name": name, "seed": 3, "data": data, "model": model, "train": TRAIN,
                                      "decode": {"beam": 2, "max_len_offset": MAX_WORDS}}), encoding="utf-8")
    model_dir = tmp_path / name
    assert main(["train", str(config), "--model-dir", str(model_dir), "--no-progress"]) == 0
    assert "after 3 steps" in capsys.readouterr().out
    for file in ("config.yaml", "model.safetensors", "last.pt", "metrics.json", "curves.png"):
        assert (model_dir / file).is_file(), file
    return str(model_dir)


def _check_report(report: Path, out: str, galleries: tuple[str, ...]) -> str:
    """``evaluate --report`` said where the page is; the directory holds it, the curves and every picture
    the page shows, nothing missing and nothing else; each gallery of ``galleries`` has a first picture."""
    assert f"report: {report / 'index.html'}" in out
    page = (report / "index.html").read_text(encoding="utf-8")
    shown = re.findall(r'<img src="([^"]+)"', page)
    assert "curves.png" in shown and all((report / name).is_file() for name in shown)
    assert sorted(p.name for p in report.iterdir()) == sorted({"index.html", *shown})
    for stem in galleries:
        assert f"{stem}_01.png" in shown, stem
    return page


@pytest.mark.parametrize("name", ["soft", "hard"])
def test_captioner_train_caption_evaluate(name, tmp_path, capsys):
    model_dir = _train(tmp_path, name, capsys)
    vocab = json.loads((tmp_path / name / "tgt.tokenizer.json").read_text(encoding="utf-8"))
    assert vocab["kind"] == "word" and {"a", "of"} <= set(vocab["vocab"])
    png = tmp_path / "scene.png"
    Image.fromarray(make_scenes("test", 1)[0].image).save(png)
    out_dir = tmp_path / "att"
    assert main(["caption", model_dir, str(png), "--json", "--beam", "1", "--attention", str(out_dir)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["image"] == str(png) and record["grid"] == [8, 8]  # 64 px, three 2 x 2 pools
    assert 1 <= len(record["tokens"]) <= MAX_WORDS and len(record["attention"]) == len(record["tokens"])
    assert all(len(row) == 64 and abs(sum(row) - 1) < 1e-3 for row in record["attention"])
    assert sorted(p.name for p in out_dir.iterdir()) == [f"0001_{t:02d}.png" for t in range(len(record["tokens"]))]
    assert main(["caption", model_dir, str(png), str(png)]) == 0  # plain text, the config's beam
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0] == lines[1]
    assert main(["evaluate", model_dir, "--split", "dev", "--beam", "1"]) == 0
    out = capsys.readouterr().out
    assert all(key in out for key in ("bleu", "exact_match", "pointing", "examples        4", "BLEU signature"))
    dev = json.loads((tmp_path / name / "metrics.json").read_text())["dev"]
    assert dev["examples"] == 4 and dev["beam"] == 1 and "pointed_words" in dev
    report = tmp_path / "report"
    assert main(["evaluate", model_dir, "--split", "dev", "--beam", "1", "--report", str(report)]) == 0
    page = _check_report(report, capsys.readouterr().out, ("best",))  # 4 examples: all among the best 5
    assert page.count("sentence BLEU ") == 4 and "pointing accuracy" in page
    assert all(html.escape(s.caption) in page for s in make_scenes("dev", 4))  # every reference is shown
    result = evaluate_captioner(model_dir, split="dev", beam=1)  # fewer per gallery: the worst get theirs
    write_vision_report(tmp_path / "small", model_dir, result, examples=2)
    names = {p.name for p in (tmp_path / "small").iterdir()}
    assert {"best_01.png", "best_02.png", "worst_01.png", "worst_02.png"} <= names and "best_03.png" not in names


def test_video_captioner_train_caption_evaluate(tmp_path, capsys):
    model_dir = _train(tmp_path, "video", capsys)
    clip = tmp_path / "clip.npy"
    np.save(clip, make_clips("test", 1, frames=7)[0].frames.astype(np.float32) / 255)  # floats in [0, 1] work too
    assert main(["caption", model_dir, str(clip), "--json", "--attention", str(tmp_path / "att")]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["grid"] is None and all(len(row) == 7 for row in record["attention"])  # over the 7 frames
    assert [p.name for p in (tmp_path / "att").iterdir()] == ["0001.png"]  # the frame strip
    assert main(["evaluate", model_dir, "--report", str(tmp_path / "report")]) == 0
    out = capsys.readouterr().out
    assert "frame_alignment" in out and "words)" in out and "pointing" not in out
    page = _check_report(tmp_path / "report", out, ("best",))
    assert "word -&gt; frame alignment" in page and "pointing" not in page
    test = json.loads((tmp_path / "video" / "metrics.json").read_text())["test"]
    assert test["aligned_words"] > 0 and 0 <= test["frame_alignment"] <= 100


@pytest.mark.parametrize("name", ["ram", "cnn"])
def test_image_classifier_train_caption_evaluate(name, tmp_path, capsys):
    model_dir = _train(tmp_path, name, capsys)
    png = tmp_path / "cluttered.png"
    image = np.round(make_cluttered("test", 1)[0][0] * 255).astype(np.uint8)
    Image.fromarray(image).convert("RGB").resize((90, 90)).save(png)  # colour and a size the model must fit
    assert main(["caption", model_dir, str(png), "--json", "--attention", str(tmp_path / "att")]) == 0
    captured = capsys.readouterr()
    record = json.loads(captured.out)
    assert abs(sum(record["probs"].values()) - 1) < 1e-4 and record["label"] in record["probs"]
    if name == "ram":
        assert len(record["glimpses"]) == 2 and (tmp_path / "att" / "0001.png").is_file()
    else:
        assert record["glimpses"] is None and "has no attention" in captured.err
    report = tmp_path / "report"
    assert main(["evaluate", model_dir, "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "macro_f1" in out and ("glimpse_hits" in out) == (name == "ram")
    # 4 test images, each in exactly one gallery: right, wrong, or (with fewer than 5 of each) least confident
    page = _check_report(report, out, ())
    assert (report / "confusion.png").is_file() and page.count('<div class="card">') == 4
    assert ("glimpses on the item" in page) == (name == "ram")
    write_vision_report(tmp_path / "small", model_dir, evaluate_image_classifier(model_dir), examples=1)
    assert (tmp_path / "small" / "unsure_01.png").is_file()  # at most 1 right + 1 wrong: 2 images left


def test_vision_report_imports_no_plotting_library():
    code = "import sys, attnkit.training.vision_report; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_vision_errors_are_clear(tmp_path, capsys):
    png = tmp_path / "scene.png"
    Image.fromarray(np.zeros((64, 64), dtype=np.uint8)).save(png)
    translation_dir = tmp_path / "dates"
    translation_dir.mkdir()
    dump_config(validate_config({}), translation_dir / "config.yaml")  # the task is all `caption` looks at first
    assert main(["caption", str(translation_dir), str(png)]) == 2
    assert "use `attnkit translate`" in capsys.readouterr().err
    model_dir = _train(tmp_path, "video", capsys)
    assert main(["caption", model_dir, str(png)]) == 2
    assert "reads clips from .npy files" in capsys.readouterr().err
    assert main(["evaluate", model_dir, "--file", str(png)]) == 2
    assert "--file do not apply to image models" in capsys.readouterr().err
    for verb in ("translate", "classify", "match"):  # other verbs name the one to use
        assert main([verb, model_dir, "--input", str(png)]) == 2
        assert "use `attnkit caption`" in capsys.readouterr().err
    from attnkit.serve import create_app

    app = create_app({"video": Path(model_dir)})  # served at POST /caption (tests/unit/serve/test_vision_api.py)
    assert any(getattr(route, "path", None) == "/caption" for route in app.routes)
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {family: captioner}\ndata: {corpus: scenes, frames: 5}\n", encoding="utf-8")
    assert main(["train", str(bad), "--model-dir", str(tmp_path / "x")]) == 2
    assert "data.frames does not apply to corpus 'scenes'" in capsys.readouterr().err
