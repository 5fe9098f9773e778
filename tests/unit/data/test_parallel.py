import pytest

from attnkit.data.parallel import read_lines, read_parallel
from attnkit.errors import DataError


def _write(path, content):
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def test_two_files(tmp_path):
    src = _write(tmp_path / "train.en", "hello world\nthe cat\n")
    tgt = _write(tmp_path / "train.de", "hallo welt\r\ndie katze\r\n\n")
    data = read_parallel(src, tgt)
    assert [(p.src, p.tgt, p.id) for p in data.pairs] == [("hello world", "hallo welt", "1"),
                                                          ("the cat", "die katze", "2")]
    assert data.skipped_long == 0


def test_tsv_with_bom_and_by_flag(tmp_path):
    tsv = _write(tmp_path / "pairs.tsv", "\ufeffuno\tone\ndos\ttwo")
    for data in (read_parallel(tsv), read_parallel(tsv, tsv=True)):
        assert [(p.src, p.tgt) for p in data.pairs] == [("uno", "one"), ("dos", "two")]


def test_long_pairs_are_skipped_and_counted_in_characters(tmp_path):
    tsv = _write(tmp_path / "pairs.tsv", "abcde\tx\nab\tabcdef\nab\tcd\n")
    data = read_parallel(tsv, max_len=5)
    assert [p.src for p in data.pairs] == ["abcde", "ab"]
    assert data.skipped_long == 1


def test_missing_file(tmp_path):
    src = _write(tmp_path / "a.txt", "x\n")
    with pytest.raises(DataError, match=r"nope\.txt.*not found"):
        read_parallel(src, tmp_path / "nope.txt")
    with pytest.raises(DataError, match=r"nope\.tsv.*not found"):
        read_parallel(tmp_path / "nope.tsv")
    with pytest.raises(DataError, match=r"gone\.txt.*not found"):
        read_lines(tmp_path / "gone.txt")


def test_mismatched_line_counts_name_both_files_and_counts(tmp_path):
    src = _write(tmp_path / "s.txt", "a\nb\nc\n")
    tgt = _write(tmp_path / "t.txt", "a\nb\n")
    with pytest.raises(DataError) as err:
        read_parallel(src, tgt)
    message = str(err.value)
    assert "s.txt has 3 lines" in message and "t.txt has 2" in message


@pytest.mark.parametrize("side", ["src", "tgt"])
def test_empty_line_in_two_files(tmp_path, side):
    lines = {"src": "a\nb\nc\n", "tgt": "x\ny\nz\n"}
    lines[side] = lines[side].replace("b" if side == "src" else "y", "  ")
    src, tgt = _write(tmp_path / "s.txt", lines["src"]), _write(tmp_path / "t.txt", lines["tgt"])
    name = "s.txt" if side == "src" else "t.txt"
    with pytest.raises(DataError, match=rf"{name}, line 2: empty line; remove line 2 from both files"):
        read_parallel(src, tgt)


def test_invalid_utf8_names_line_and_byte(tmp_path):
    src = _write(tmp_path / "s.txt", b"ok\ncaf\xe9 noir\n")
    tgt = _write(tmp_path / "t.txt", "fine\nblack coffee\n")
    with pytest.raises(DataError) as err:
        read_parallel(src, tgt)
    message = str(err.value)
    assert "s.txt, line 2" in message and "byte 4 of the line" in message
    assert "byte offset 6 in the file" in message and "UTF-8" in message


@pytest.mark.parametrize(("content", "found"), [("a\tb\nno tab here\n", "found 0"), ("a\tb\nx\ty\tz\n", "found 2")])
def test_tsv_needs_exactly_one_tab(tmp_path, content, found):
    tsv = _write(tmp_path / "p.tsv", content)
    with pytest.raises(DataError, match=rf"p\.tsv, line 2: expected exactly one tab.*{found}"):
        read_parallel(tsv)


def test_tsv_empty_side_and_empty_line(tmp_path):
    with pytest.raises(DataError, match=r"p\.tsv, line 1: empty target side"):
        read_parallel(_write(tmp_path / "p.tsv", "a\t \n"))
    with pytest.raises(DataError, match=r"q\.tsv, line 2: empty line"):
        read_parallel(_write(tmp_path / "q.tsv", "a\tb\n\nc\td\n"))


def test_tsv_flag_with_two_files_is_an_error(tmp_path):
    with pytest.raises(DataError, match="tsv=True"):
        read_parallel(tmp_path / "a", tmp_path / "b", tsv=True)


def test_read_lines(tmp_path):
    assert read_lines(_write(tmp_path / "in.txt", " one \ntwo\n\n")) == ["one", "two"]
    with pytest.raises(DataError, match=r"in2\.txt, line 2: empty line"):
        read_lines(_write(tmp_path / "in2.txt", "one\n\nthree\n"))
    with pytest.raises(DataError, match=r"in3\.txt, line 1: byte 1 of the line"):
        read_lines(_write(tmp_path / "in3.txt", b"\xff\n"))
