"""Bad input through the command line: one clear message, exit status 2, no traceback."""

import pytest

from attnkit.cli import main


def run(capsys, *args) -> tuple[int, str]:
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def test_unknown_config_key_suggests_the_right_one(tiny_config, capsys, tmp_path):
    code, err = run(capsys, "train", tiny_config(model={"hiden_dim": 8}), "--model-dir", tmp_path / "m")
    assert code == 2
    assert "unknown key 'model.hiden_dim'; did you mean 'hidden_dim'?" in err
    assert "Traceback" not in err


def test_bad_override_and_bad_value(tiny_config, capsys, tmp_path):
    code, err = run(capsys, "train", tiny_config(), "--model-dir", tmp_path / "m", "train.max_steps=-3")
    assert code == 2 and "'train.max_steps'" in err and "greater than 0" in err
    code, err = run(capsys, "train", tiny_config(), "--model-dir", tmp_path / "m", "model.decoder=transformer")
    assert code == 2 and "'model.decoder'" in err


def test_malformed_yaml_names_the_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  cell: gru\n   decoder: [unclosed\n", encoding="utf-8")
    code, err = run(capsys, "train", bad)
    assert code == 2 and str(bad) in err and "line" in err


def test_mismatched_parallel_files(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("one\ntwo\nthree\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("uno\ndos\n", encoding="utf-8")
    cfg = tmp_path / "files.yaml"
    cfg.write_text(
        f"data:\n  corpus: files\n  train: {{src: {tmp_path}/a.txt, tgt: {tmp_path}/b.txt}}\n"
        f"  dev: {{src: {tmp_path}/a.txt, tgt: {tmp_path}/b.txt}}\n", encoding="utf-8")
    code, err = run(capsys, "train", cfg, "--model-dir", tmp_path / "m")
    assert code == 2 and "a.txt" in err and "b.txt" in err and "3" in err and "2" in err


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"\x00" * 64])
def test_corrupt_or_foreign_checkpoint(tiny_config, tmp_path, capsys, content):
    model_dir = tmp_path / "model"
    assert main(["train", str(tiny_config(train={"max_steps": 2})), "--model-dir", str(model_dir),
                 "--no-progress"]) == 0
    (model_dir / "model.safetensors").write_bytes(content)
    (tmp_path / "in.txt").write_text("1 May 2000\n", encoding="utf-8")
    code, err = run(capsys, "translate", model_dir, "--input", tmp_path / "in.txt")
    assert code == 2 and "model.safetensors" in err and "Traceback" not in err


def test_not_a_model_directory(tmp_path, capsys):
    code, err = run(capsys, "translate", tmp_path)
    assert code == 2 and "not a model directory" in err


def test_empty_and_over_long_input_lines(tiny_config, tmp_path, capsys):
    model_dir = tmp_path / "model"
    main(["train", str(tiny_config(train={"max_steps": 2}, data={"max_len": 40})), "--model-dir", str(model_dir),
          "--no-progress"])
    (tmp_path / "in.txt").write_text("1 May 2000\n\n2 May 2000\n", encoding="utf-8")
    code, err = run(capsys, "translate", model_dir, "--input", tmp_path / "in.txt")
    assert code == 2 and "line 2" in err
    (tmp_path / "long.txt").write_text("1 May 2000\n" + "x" * 41 + "\n", encoding="utf-8")
    code, err = run(capsys, "translate", model_dir, "--input", tmp_path / "long.txt")
    assert code == 2 and "input 2" in err and "40" in err


@pytest.mark.parametrize(("data", "expected"), [(b"1 May 2000\n\n2 May 2000\n", "<stdin>, line 2: empty line"),
                                                (b"1 Ma\xe9 2000\n", "<stdin>, line 1: byte 5")])
def test_stdin_gets_the_same_checks_as_a_file(tiny_model_dir, monkeypatch, capsys, data, expected):
    import io

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, err = run(capsys, "translate", tiny_model_dir)
    assert code == 2 and expected in err and "Traceback" not in err


@pytest.mark.parametrize("flag, value, expected", [("--workers", "0", "must be at least 1, got 0"),
                                                   ("--beam", "-2", "must be at least 1, got -2"),
                                                   ("--n-best", "two", "expected a whole number, got 'two'")])
def test_translate_counts_must_be_positive(tmp_path, capsys, flag, value, expected):
    with pytest.raises(SystemExit) as exit_info:
        main(["translate", str(tmp_path), flag, value])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and f"argument {flag}: {expected}" in err and "Traceback" not in err


@pytest.mark.parametrize("args, expected", [
    (["classify", "M", "--top", "0"], "argument --top: must be at least 1, got 0"),
    (["serve", "M", "--max-beam", "0"], "argument --max-beam: must be at least 1, got 0"),
    (["serve", "M", "--max-batch", "-1"], "argument --max-batch: must be at least 1, got -1"),
    (["serve", "M", "--max-chars", "0"], "argument --max-chars: must be at least 1, got 0"),
    (["serve", "M", "--max-image-bytes", "0"], "argument --max-image-bytes: must be at least 1, got 0"),
    (["serve", "M", "--timeout", "0"], "argument --timeout: must be a finite number above 0, got 0"),
    (["serve", "M", "--timeout", "soon"], "argument --timeout: expected a number, got 'soon'"),
    (["serve", "M", "--port", "-1"], "argument --port: must be a port number in 0-65535, got -1"),
    (["serve", "M", "--port", "70000"], "argument --port: must be a port number in 0-65535, got 70000"),
])
def test_limits_and_counts_of_classify_and_serve_are_checked_before_loading(capsys, args, expected):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and expected in err and "Traceback" not in err


@pytest.mark.parametrize("verb", ["align", "evaluate", "caption"])
def test_every_beam_flag_must_be_positive(tmp_path, capsys, verb):
    args = [verb, str(tmp_path)] + (["image.png"] if verb == "caption" else [])
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--beam", "0"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "argument --beam: must be at least 1, got 0" in err and "Traceback" not in err
