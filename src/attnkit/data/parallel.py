"""Reading user-supplied parallel text: two line-aligned files, or one tab-separated file.

Every problem a user can fix raises :class:`~attnkit.errors.DataError` with the file, the 1-based line
number and what to do. Lines are stripped of surrounding whitespace (and a UTF-8 byte-order mark at the
start of a file); empty lines at the very end of a file are ignored, empty lines elsewhere are errors.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from attnkit.data.examples import Pair
from attnkit.errors import DataError

_BOM = b"\xef\xbb\xbf"


@dataclass
class ParallelData:
    """Pairs read from disk, and how many were left out for exceeding ``max_len``."""

    pairs: list[Pair] = field(default_factory=list)
    skipped_long: int = 0


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise DataError(f"{path}: file not found; check the path (relative paths are resolved from "
                        f"{Path.cwd()})")
    if not path.is_file():
        raise DataError(f"{path}: not a regular file; give the path of a text file")
    return path.read_bytes()


def _decoded_lines(path: Path, data: bytes | None = None) -> list[str]:
    """The lines of ``path`` (or of ``data`` read elsewhere under that name) decoded as UTF-8, without line
    ends, less empty lines at the end."""
    data = _read_bytes(path) if data is None else data
    offset = len(_BOM) if data.startswith(_BOM) else 0  # byte offset of the current line in the file
    raw_lines = data[offset:].split(b"\n")
    while raw_lines and not raw_lines[-1].strip():
        raw_lines.pop()
    lines = []
    for number, raw in enumerate(raw_lines, start=1):
        try:
            lines.append(raw.decode("utf-8").rstrip("\r"))
        except UnicodeDecodeError as err:
            raise DataError(
                f"{path}, line {number}: byte {err.start + 1} of the line (byte offset {offset + err.start} "
                f"in the file) is not valid UTF-8; re-encode the file as UTF-8 "
                f"(e.g. iconv -f latin1 -t utf-8)") from None
        offset += len(raw) + 1
    return lines


def _check_not_empty(path: Path, number: int, text: str, advice: str) -> None:
    if not text:
        raise DataError(f"{path}, line {number}: empty line; {advice}")


def read_lines(path: str | Path) -> list[str]:
    """Monolingual input (one sentence a line), e.g. for ``attnkit translate``; ``"-"`` reads stdin.

    Raises :class:`DataError` for a missing file, invalid UTF-8 or an empty line (trailing empty lines at
    the end of the file are ignored).
    """
    if str(path) == "-":
        path, data = Path("<stdin>"), sys.stdin.buffer.read()
    else:
        path, data = Path(path), None
    lines = [line.strip() for line in _decoded_lines(path, data)]
    for number, text in enumerate(lines, start=1):
        _check_not_empty(path, number, text, "remove it or write the sentence to translate")
    return lines


def _read_tsv(path: Path) -> list[tuple[int, str, str]]:
    rows = []
    for number, line in enumerate(_decoded_lines(path), start=1):
        _check_not_empty(path, number, line.strip(), "remove it or write 'source<TAB>target' on it")
        tabs = line.count("\t")
        if tabs != 1:
            raise DataError(f"{path}, line {number}: expected exactly one tab between source and target, "
                            f"found {tabs}; write each pair as 'source<TAB>target' on its own line")
        src, tgt = (side.strip() for side in line.split("\t"))
        for side, text in (("source", src), ("target", tgt)):
            if not text:
                raise DataError(f"{path}, line {number}: empty {side} side; remove the line or fill in "
                                f"the missing sentence")
        rows.append((number, src, tgt))
    return rows


def _read_two_files(src_path: Path, tgt_path: Path) -> list[tuple[int, str, str]]:
    src_lines = [line.strip() for line in _decoded_lines(src_path)]
    tgt_lines = [line.strip() for line in _decoded_lines(tgt_path)]
    if len(src_lines) != len(tgt_lines):
        raise DataError(f"{src_path} has {len(src_lines)} lines but {tgt_path} has {len(tgt_lines)}; "
                        f"line i of one file must translate line i of the other")
    for path, lines in ((src_path, src_lines), (tgt_path, tgt_lines)):
        for number, text in enumerate(lines, start=1):
            _check_not_empty(path, number, text, f"remove line {number} from both files (the pair) or fill "
                                                         "in the missing sentence")
    return [(n, s, t) for n, (s, t) in enumerate(zip(src_lines, tgt_lines, strict=True), start=1)]


def read_parallel(src_path: str | Path, tgt_path: str | Path | None = None, *, max_len: int | None = None,
                  tsv: bool = False) -> ParallelData:
    """Read a parallel corpus from two line-aligned plain-text files or one TSV file.

    With ``tgt_path=None`` (or ``tsv=True``) ``src_path`` is a TSV file of ``source<TAB>target`` lines.
    ``max_len`` is in *characters*: a pair whose source or target is longer is skipped and counted in
    ``skipped_long`` (not an error). Pair ids are the 1-based line numbers, as strings.
    """
    if tsv and tgt_path is not None:
        raise DataError(f"tsv=True reads source and target from one file, but a second file was given "
                        f"({tgt_path}); pass only the TSV file or set tsv=False")
    if max_len is not None and max_len < 1:
        raise DataError(f"max_len must be a positive number of characters, got {max_len}")
    rows = _read_tsv(Path(src_path)) if tgt_path is None else _read_two_files(Path(src_path), Path(tgt_path))
    data = ParallelData()
    for number, src, tgt in rows:
        if max_len is not None and max(len(src), len(tgt)) > max_len:
            data.skipped_long += 1
            continue
        data.pairs.append(Pair(src=src, tgt=tgt, id=str(number)))
    return data
