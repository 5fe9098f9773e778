"""A rule-based translation baseline: Apertium (Debian ``apertium`` + a language-pair package).

Neural models are compared with it on the same held-out data (see ``docs/data.md`` for the scores on
the bible test split). One ``apertium`` process translates all lines; lines are separated by blank
lines, which Apertium's text format treats as paragraph breaks, so words never move from one line to
the next (a single newline is only a blank to it: "la casa\\nblanca" comes back as "The white\\nhouse").
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence

from attnkit.errors import DataError

APT_PACKAGES = {"spa-eng": "apertium-eng-spa", "eng-spa": "apertium-eng-spa"}
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


def apertium_available(pair: str = "spa-eng") -> bool:
    """True when the ``apertium`` command and the language pair ``pair`` are installed."""
    if shutil.which("apertium") is None:
        return False
    probe = subprocess.run(["apertium", "-u", pair], input="a\n", capture_output=True, text=True, check=False)
    return probe.returncode == 0


def _missing(pair: str, detail: str) -> DataError:
    package = APT_PACKAGES.get(pair, f"the apertium package for {pair}")
    return DataError(
        f"apertium {pair} is not usable ({detail}); install it as root with: apt-get install -y apertium {package}"
    )


def apertium_translate(lines: Sequence[str], pair: str = "spa-eng") -> list[str]:
    """Translate ``lines`` with ``apertium -u <pair>`` in one process; returns exactly one output line
    per input line (empty lines stay empty). Raises ``DataError`` when Apertium or the pair is missing."""
    flat = [" ".join(line.split()) for line in lines]
    todo = [k for k, line in enumerate(flat) if line]
    if not todo:
        return ["" for _ in flat]
    if shutil.which("apertium") is None:
        raise _missing(pair, "the apertium command is not on PATH")
    text = "\n\n".join(flat[k] for k in todo) + "\n"
    done = subprocess.run(["apertium", "-u", pair], input=text, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise _missing(pair, done.stderr.strip() or f"exit status {done.returncode}")
    pieces = _PARAGRAPH_BREAK.split(done.stdout.strip("\n"))
    if len(pieces) != len(todo):
        raise RuntimeError(f"apertium returned {len(pieces)} paragraphs for {len(todo)} input lines")
    out = ["" for _ in flat]
    for k, piece in zip(todo, pieces, strict=True):
        out[k] = " ".join(piece.split())
    return out
