"""Attention through the command line: heatmaps, Pharaoh alignments, the HTML report and AER."""

import json
import re
from pathlib import Path

import pytest

from attnkit.cli import main

SOURCES = ["3 de marzo de 1998", "Tuesday, March 3, 1998", "03/03/98"]
PHARAOH = re.compile(r"^(\d+-\d+( \d+-\d+)*)?$")


@pytest.fixture(scope="module")
def model_dir(tiny_model_dir) -> Path:
    return tiny_model_dir


@pytest.fixture
def sources(tmp_path) -> Path:
    path = tmp_path / "src.txt"
    path.write_text("\n".join(SOURCES) + "\n", encoding="utf-8")
    return path


def test_translate_writes_one_heatmap_per_sentence(model_dir, sources, tmp_path, capsys):
    out = tmp_path / "png"
    assert main(["translate", str(model_dir), "--input", str(sources), "--attention", str(out)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(SOURCES)
    pngs = sorted(p.name for p in out.iterdir())
    assert pngs == ["0001.png", "0002.png", "0003.png"]
    assert all((out / p).read_bytes()[:4] == b"\x89PNG" for p in pngs)
    svg_dir = tmp_path / "svg"
    assert main(["translate", str(model_dir), "--input", str(sources), "--attention", str(svg_dir),
                 "--format", "svg", "--beam", "1"]) == 0
    second = capsys.readouterr().out.splitlines()[1]
    svg = (svg_dir / "0002.svg").read_text(encoding="utf-8")
    assert all(f">{ch}<" in svg for ch in "Tuesday") and second in svg  # source tokens, title = translation


def test_align_prints_pharaoh_lines(model_dir, sources, tmp_path, capsys):
    targets = tmp_path / "tgt.txt"
    targets.write_text("1998-03-03\n1998-03-03\n1998-03-03\n", encoding="utf-8")
    assert main(["align", str(model_dir), "--input", str(sources), "--target", str(targets)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(SOURCES) and all(PHARAOH.match(line) for line in lines)
    for src, line in zip(SOURCES, lines, strict=True):
        links = [tuple(map(int, x.split("-"))) for x in line.split()]
        assert sorted(t for _, t in links) == list(range(10))  # argmax: one link per target character
        assert all(0 <= s < len(src) for s, _ in links)
    assert main(["align", str(model_dir), "--input", str(sources), "--target", str(targets), "--level", "word"]) == 0
    words = capsys.readouterr().out.splitlines()
    for src, chars, line in zip(SOURCES, lines, words, strict=True):
        word_of = [src[:i].count(" ") if ch != " " else None for i, ch in enumerate(src)]  # single spaces here
        expected = {(word_of[int(x.split("-")[0])], 0) for x in chars.split()} - {(None, 0)}
        assert {tuple(map(int, x.split("-"))) for x in line.split()} == expected  # the target is one word
    assert main(["align", str(model_dir), "--input", str(sources), "--method", "threshold",
                 "--threshold", "0.2", "--beam", "1"]) == 0
    assert all(PHARAOH.match(line) for line in capsys.readouterr().out.splitlines())


def test_align_mismatched_target_is_a_clear_error(model_dir, sources, tmp_path, capsys):
    targets = tmp_path / "tgt.txt"
    targets.write_text("1998-03-03\n", encoding="utf-8")
    assert main(["align", str(model_dir), "--input", str(sources), "--target", str(targets)]) == 2
    err = capsys.readouterr().err
    assert "tgt.txt" in err and "1" in err and "3" in err and "Traceback" not in err
    assert main(["align", str(model_dir), "--input", str(sources), "--method", "threshold", "--threshold", "1.5"]) == 2
    assert "--threshold must be in (0, 1]" in capsys.readouterr().err


def test_evaluate_report_and_aer(model_dir, tmp_path, capsys):
    report = tmp_path / "report"
    assert main(["evaluate", str(model_dir), "--split", "dev", "--beam", "1", "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^aer\s+[01]\.\d{4}", out, re.M)
    metrics = json.loads((model_dir / "metrics.json").read_text(encoding="utf-8"))
    assert 0.0 <= metrics["aer"] <= 1.0 and metrics["dev"]["aer"] == metrics["aer"]
    page = (report / "index.html").read_text(encoding="utf-8")
    assert "BLEU" in page and "chrF" in page and "alignment error rate" in page
    images = re.findall(r'<img src="([^"]+)"', page)
    assert "curves.png" in images and sum(i.startswith("best_") for i in images) == 5
    assert sum(i.startswith("worst_") for i in images) == 5
    assert all((report / i).is_file() and (report / i).stat().st_size > 0 for i in images)


def test_evaluate_on_files_without_gold_has_no_aer(model_dir, sources, tmp_path, capsys):
    refs = tmp_path / "ref.txt"
    refs.write_text("1998-03-03\n1998-03-03\n1998-03-03\n", encoding="utf-8")
    assert main(["evaluate", str(model_dir), "--src", str(sources), "--ref", str(refs), "--beam", "1"]) == 0
    assert "aer" not in capsys.readouterr().out
    assert "aer" not in json.loads((model_dir / "metrics.json").read_text(encoding="utf-8"))
