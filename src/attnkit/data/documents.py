"""Labelled documents for classification: sentence splitting, a word vocabulary, readers and corpora.

A :class:`Document` is a text with a class label. Hierarchical models (Yang et al. 2016, "Hierarchical
Attention Networks for Document Classification") see it as sentences of words (:meth:`DocumentVocab.encode`,
batched by :func:`make_doc_batch` into ``[B, N, W]``); flat models as one word sequence
(:meth:`DocumentVocab.encode_flat`, :func:`make_flat_batch`, ``[B, S]``).

Built-in corpora, read offline from Debian packages (``scripts/install_corpora.sh`` installs them):

- ``debian``: package descriptions -> archive section (``libs``, ``python``, ``games`` ...), from the
  package lists of apt (``apt-cache dumpavail``) and their English long descriptions (``Translation-en``);
- ``wordnet``: WordNet 3.0 glosses -> the synset's lexicographer file, its supersense (``noun.animal``,
  ``verb.motion`` ...; 45 classes), package ``wordnet-base``;
- ``fortunes``: fortune-cookie texts -> their category file (``computers``, ``love`` ...), packages
  ``fortunes`` and ``fortunes-min``.

Each corpus has a fixed train/dev/test split by a stable hash (:func:`split_documents`).
"""
# B batch (documents), N sentences, W words per sentence, S words of a flat document

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import torch
from torch import Tensor

from attnkit.errors import CheckpointError, DataError

__all__ = [
    "CORPORA",
    "LEXNAMES",
    "PAD_ID",
    "UNK_ID",
    "DocBatch",
    "Document",
    "DocumentVocab",
    "FlatBatch",
    "LabelSet",
    "batch_to",
    "check_batch_sizes",
    "load_debian_packages",
    "load_documents",
    "load_fortunes",
    "load_wordnet",
    "make_doc_batch",
    "make_flat_batch",
    "pad_sequences",
    "read_labelled",
    "read_rows",
    "read_texts",
    "split_documents",
    "split_of",
    "split_sentences",
    "strip_attribution",
    "unwrap_lines",
    "words",
]

PAD_ID, UNK_ID = 0, 1
DOC_SPECIALS = ("<pad>", "<unk>")
VOCAB_FORMAT, LABELS_FORMAT, FORMAT_VERSION = "attnkit.DocumentVocab", "attnkit.LabelSet", 1
CORPORA = ("debian", "wordnet", "fortunes")
SPLITS = ("train", "dev", "test")
INSTALL_SCRIPT = "scripts/install_corpora.sh"


@dataclass(frozen=True)
class Document:
    """A text and its class.

    ``id`` names the document in its corpus (``"file.csv:12"``, ``"n:02084071"``, ``"love:17"``).
    ``group``, when set, keeps related documents in one split (Debian: the source package, so that
    ``libfoo``, ``libfoo-dev`` and ``libfoo-doc``, which share paragraphs, never straddle train and test).
    """

    text: str
    label: str
    id: str = ""
    group: str = ""


# ---------------------------------------------------------------------------------------------
# Sentences and words
# ---------------------------------------------------------------------------------------------

_ABBREVIATIONS = frozenset(
    "e.g i.e etc mr mrs ms dr vs st prof jr sr cf approx fig al resp incl dept viz".split()
)
_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*\s+")
_OPENERS = "\"'“‘([«"
_DOTTED = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")  # "U.S", "a.m", "e.g"
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|[^\w\s]|_")
_BULLET = re.compile(r"\s*(?:[-*+•o]|\d{1,3}[.)])\s+\S")


def _is_abbreviation(before: str) -> bool:
    """Whether the chunk ending at a full stop is an abbreviation or an initial, not a sentence end."""
    chunk = before.split()[-1].lstrip(_OPENERS) if before.split() else ""
    if len(chunk) == 1 and chunk.isupper():  # "J. R. R. Tolkien", "D. H. Holmes"
        return True
    return chunk.lower() in _ABBREVIATIONS or bool(_DOTTED.fullmatch(chunk))


def _split_line(line: str) -> list[str]:
    sentences, start = [], 0
    for match in _BOUNDARY.finditer(line):
        nxt = line[match.end():].lstrip(_OPENERS)[:1]
        if not (nxt.isupper() or nxt.isdigit()):
            continue
        if match.group(0).startswith(".") and not match.group(0).startswith("..") \
                and _is_abbreviation(line[start:match.start()]):
            continue
        sentences.append(line[start:match.end()].strip())
        start = match.end()
    sentences.append(line[start:].strip())
    return [s for s in sentences if s]


def split_sentences(text: str) -> list[str]:
    """Split a text into sentences by rule; never returns empty strings (``""`` -> ``[]``).

    Every line break ends a sentence (a blank line ends a paragraph, which ends one too): hard-wrapped
    prose should be joined first with :func:`unwrap_lines`, as the built-in corpora are. Within a line a
    sentence ends at ``.``, ``!`` or ``?`` (possibly followed by closing quotes or brackets) followed by
    whitespace and an upper-case letter, a digit or an opening quote; a ``;`` never ends one. A full stop
    after an abbreviation (``e.g.``, ``i.e.``, ``etc.``, ``Mr.``, ``Dr.``, ``vs.``, dotted forms such as
    ``U.S.``) or a single capital initial (``J. R. R. Tolkien``) does not end a sentence.
    """
    return [s for line in text.splitlines() for s in _split_line(line)]


def _raw_words(sentence: str) -> list[str]:
    return _WORD.findall(sentence)


def words(sentence: str) -> list[str]:
    """Lower-case word tokens: runs of letters and digits (with inner apostrophes, ``don't``), and every
    other non-space character on its own (punctuation is kept as tokens)."""
    return [w.lower() for w in _raw_words(sentence)]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def unwrap_lines(lines: Sequence[str], *, min_length: int = 0) -> str:
    """Join the hard-wrapped lines of one paragraph into logical lines, returned joined by ``"\\n"``.

    A line starts a new logical line when it is a list item (``*``, ``-``, ``+``, ``o``, ``1.``), or is
    indented while the current logical line is not a list item (verbatim text, a dialogue turn); an
    indented line under a list item continues it. An unindented line continues the previous line when
    that line is at least ``min_length`` characters long, i.e. it looks filled to the wrap width
    (``min_length=0`` joins all prose, as for Debian descriptions, which are wrapped by definition; a
    positive value keeps the short lines of verse apart).
    """
    out: list[str] = []
    first = previous = ""  # first physical line of the current logical line, and the last one
    for line in lines:
        line = line.rstrip()
        if not line.strip():
            continue
        bullet_here, bullet_open = bool(_BULLET.match(line)), bool(out) and bool(_BULLET.match(first))
        if not out or bullet_here:
            join = False
        elif bullet_open:
            join = _indent(line) > _indent(first)
        else:
            join = _indent(line) == 0 and len(previous.strip()) >= min_length
        if join:
            out[-1] = f"{out[-1]} {line.strip()}"
        else:
            out.append(line.strip())
            first = line
        previous = line
    return "\n".join(" ".join(line.split()) for line in out)


# ---------------------------------------------------------------------------------------------
# Vocabulary and labels
# ---------------------------------------------------------------------------------------------


def _read_json(path: Path, kind: str, fmt: str) -> dict:
    if not path.is_file():
        raise CheckpointError(f"{path}: {kind} file not found; is this a model directory written by attnkit?")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: not a readable {kind} file ({err}); retrain or restore it") from None
    if not isinstance(data, dict) or data.get("format") != fmt:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(f"{path}: not an attnkit {kind} file (format {found!r}, expected {fmt!r})")
    if data.get("version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: {kind} format version {data.get('version')!r}; this attnkit reads "
                              f"version {FORMAT_VERSION}: retrain, or use the attnkit that wrote it")
    return data


def _string_list(data: dict, key: str, path: Path, kind: str) -> list[str]:
    items = data.get(key)
    if not isinstance(items, list) or not all(isinstance(x, str) for x in items) or len(set(items)) != len(items):
        raise CheckpointError(f"{path}: '{key}' must be a list of distinct strings; the {kind} file is corrupt")
    return items


class DocumentVocab:
    """Words -> ids for documents: id 0 is ``<pad>``, id 1 ``<unk>``, then words by falling frequency.

    With ``oov_buckets > 0`` a word outside the vocabulary is not ``<unk>`` but one of that many extra
    ids chosen by a stable hash of the word (the "hashing trick"): two unseen names are then (almost
    always) different ids, and the same unseen name in two texts is the same id, which a matcher can
    align. The bucket ids follow the words, so ``vocab_size = len(itos) + oov_buckets``.
    """

    def __init__(self, itos: Sequence[str], oov_buckets: int = 0) -> None:
        if tuple(itos[:2]) != DOC_SPECIALS:
            raise ValueError(f"a document vocabulary starts with {DOC_SPECIALS}, got {tuple(itos[:2])}")
        if oov_buckets < 0:
            raise ValueError(f"oov_buckets must be >= 0, got {oov_buckets}")
        self.itos = list(itos)
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.oov_buckets = oov_buckets

    def _id(self, word: str) -> int:
        """The id of a lowercased word: its own, its hash bucket, or UNK."""
        i = self.stoi.get(word)
        if i is not None:
            return i
        if not self.oov_buckets:
            return UNK_ID
        digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
        return len(self.itos) + int.from_bytes(digest, "little") % self.oov_buckets

    @classmethod
    def build(cls, docs: Iterable[Document | str], *, min_freq: int = 2, max_size: int = 30000,
              oov_buckets: int = 0) -> DocumentVocab:
        """Count :func:`words` over the training documents (or texts) and keep those seen at least
        ``min_freq`` times, most frequent first (ties alphabetical), up to ``max_size`` ids in all (plus
        ``oov_buckets`` hashed ids for the rest)."""
        if max_size < len(DOC_SPECIALS) + 1:
            raise ValueError(f"max_size must leave room for a word beyond {DOC_SPECIALS}, got {max_size}")
        counts: Counter[str] = Counter()
        for doc in docs:
            text = doc.text if isinstance(doc, Document) else doc
            for sentence in split_sentences(text):
                counts.update(words(sentence))
        kept = sorted((w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w))
        return cls([*DOC_SPECIALS, *kept[: max_size - len(DOC_SPECIALS)]], oov_buckets)

    @property
    def vocab_size(self) -> int:
        """Number of ids, specials and hash buckets included."""
        return len(self.itos) + self.oov_buckets

    def __len__(self) -> int:
        return self.vocab_size

    def tokens(self, text: str, max_sentences: int | None = None, max_words: int | None = None) -> list[list[str]]:
        """The words of ``text`` as written (case kept), nested and truncated exactly as :meth:`encode`
        nests its ids; a text without words gives ``[["<unk>"]]``."""
        sentences = [_raw_words(s) for s in split_sentences(text)]
        sentences = [s[:max_words] for s in sentences if s][:max_sentences]
        return sentences or [[DOC_SPECIALS[UNK_ID]]]

    def encode(self, text: str, *, max_sentences: int | None = None, max_words: int | None = None) -> list[list[int]]:
        """Sentences of word ids: the first ``max_sentences`` sentences, the first ``max_words`` words of
        each. Never empty: a text without words becomes ``[[UNK]]``, one sentence of one unknown word,
        so that every document has something to attend to."""
        return [[self._id(w.lower()) for w in s] for s in self.tokens(text, max_sentences, max_words)]

    def encode_flat(self, text: str, max_words: int | None = None) -> list[int]:
        """All words of all sentences in one list (for flat models), cut at ``max_words``; never empty."""
        flat = [i for sentence in self.encode(text) for i in sentence]
        return flat[:max_words] or [UNK_ID]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Ids back to words (padding dropped; a hash bucket reads ``<unk>``)."""
        return [self.itos[int(i)] if int(i) < len(self.itos) else DOC_SPECIALS[UNK_ID] for i in ids if int(i) != PAD_ID]

    def save(self, path: str | Path) -> None:
        """Write the vocabulary as JSON (``format``, ``version``, ``itos``, ``oov_buckets``)."""
        payload = {"format": VOCAB_FORMAT, "version": FORMAT_VERSION, "itos": self.itos,
                   "oov_buckets": self.oov_buckets}
        Path(path).write_text(json.dumps(payload, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> DocumentVocab:
        """Read a vocabulary written by :meth:`save`; anything else raises :class:`CheckpointError`."""
        path = Path(path)
        itos = _string_list(_read_json(path, "vocabulary", VOCAB_FORMAT), "itos", path, "vocabulary")
        if tuple(itos[:2]) != DOC_SPECIALS:
            raise CheckpointError(f"{path}: the vocabulary must start with {DOC_SPECIALS}; the file is corrupt")
        buckets = json.loads(path.read_text(encoding="utf-8")).get("oov_buckets", 0)
        if not isinstance(buckets, int) or buckets < 0:
            raise CheckpointError(f"{path}: oov_buckets must be a non-negative integer, got {buckets!r}")
        return cls(itos, buckets)


class LabelSet:
    """Class names in logit order."""

    def __init__(self, names: Sequence[str]) -> None:
        if len(set(names)) != len(names):
            raise ValueError("label names must be distinct")
        self._names = tuple(names)
        self._index = {n: i for i, n in enumerate(self._names)}

    @classmethod
    def build(cls, labels: Iterable[str]) -> LabelSet:
        """The distinct labels, sorted (the order must not depend on the order of the data)."""
        return cls(sorted(set(labels)))

    @property
    def names(self) -> tuple[str, ...]:
        return self._names

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def index(self, name: str) -> int:
        """The logit index of ``name``; an unknown label raises :class:`DataError`."""
        if name not in self._index:
            known = ", ".join(self._names[:10]) + (" ..." if len(self._names) > 10 else "")
            raise DataError(f"unknown label {name!r}; the known labels are {known}")
        return self._index[name]

    def save(self, path: str | Path) -> None:
        """Write the labels as JSON (``format``, ``version``, ``labels``)."""
        payload = {"format": LABELS_FORMAT, "version": FORMAT_VERSION, "labels": list(self._names)}
        Path(path).write_text(json.dumps(payload, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> LabelSet:
        """Read labels written by :meth:`save`; anything else raises :class:`CheckpointError`."""
        path = Path(path)
        return cls(_string_list(_read_json(path, "label", LABELS_FORMAT), "labels", path, "label"))


# ---------------------------------------------------------------------------------------------
# Reading the user's files
# ---------------------------------------------------------------------------------------------

_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl"}


def _decode(path: Path) -> str:
    if not path.is_file():
        raise DataError(f"{path}: file not found; check the path (relative paths are resolved from {Path.cwd()})")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DataError(f"{path}, line {line}: not valid UTF-8 (byte offset {err.start}); re-encode the file "
                        f"as UTF-8 (e.g. iconv -f latin1 -t utf-8)") from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise DataError(f"{path}: the file is empty; it needs a header row and at least one example")
    return text


def _missing(path: Path, line: int, what: str, name: str, available: Iterable[str]) -> DataError:
    names = ", ".join(repr(a) for a in available) or "none"
    return DataError(f"{path}, line {line}: no {what} {name!r} (found {names}); fix the file or pass the right "
                     f"field name")


def _table_rows(path: Path, text: str, delimiter: str, wanted: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting)
    rows: list[tuple[int, dict[str, str]]] = []
    start = 1
    try:
        header = [h.strip() for h in next(reader)]
        for name in wanted:
            if name not in header:
                raise _missing(path, 1, "column", name, header)
        start = reader.line_num + 1
        for row in reader:
            if row and any(cell.strip() for cell in row):
                if len(row) != len(header):
                    raise DataError(f"{path}, line {start}: {len(row)} fields but the header has {len(header)}; "
                                    f"quote fields that contain the delimiter")
                rows.append((start, dict(zip(header, row, strict=True))))
            start = reader.line_num + 1
    except csv.Error as err:
        kind = "CSV" if delimiter == "," else "TSV"
        raise DataError(f"{path}, line {start}: unreadable {kind} ({err}); check its quoting") from None
    return rows


def _jsonl_rows(path: Path, text: str, wanted: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    rows = []
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines: JSON strings may hold U+2028
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{path}, line {number}: invalid JSON ({err.msg} at column {err.colno}); write one "
                            f"JSON object per line") from None
        if not isinstance(obj, dict):
            raise DataError(f"{path}, line {number}: expected a JSON object, got {type(obj).__name__}")
        for name in wanted:
            if name not in obj:
                raise _missing(path, number, "key", name, obj)
            if not isinstance(obj[name], (str, int, float, bool)):
                raise DataError(f"{path}, line {number}: {name!r} must be a string, got {type(obj[name]).__name__}")
        rows.append((number, {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in obj.items()}))
    return rows


def read_rows(path: str | Path, fields: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    """``(line number, record)`` for each record of a ``.csv``/``.tsv`` file (header row required) or a
    ``.jsonl`` file (one object per line), checking that every name in ``fields`` is present.

    Blank lines are skipped; values are strings (JSON numbers and booleans are converted). TSV fields
    are not quoted: a tab always separates. Raises :class:`DataError` naming the file and line.
    """
    path = Path(path)
    kind = _FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"{path}: unknown file type {path.suffix!r}; use .csv or .tsv (with a header row) or "
                        f".jsonl (one JSON object per line)")
    text = _decode(path)
    if kind == "jsonl":
        rows = _jsonl_rows(path, text, fields)
    else:
        rows = _table_rows(path, text, "," if kind == "csv" else "\t", fields)
    if not rows:
        raise DataError(f"{path}: no examples after the header; add at least one row")
    return rows


def read_labelled(path: str | Path, *, text_field: str = "text", label_field: str = "label") -> list[Document]:
    """Labelled documents from a CSV, TSV or JSONL file (see :func:`read_rows`); ids are ``"name:line"``.

    Texts and labels are stripped; an empty one is a :class:`DataError` naming the file and line.
    """
    path = Path(path)
    docs = []
    for line, row in read_rows(path, (text_field, label_field)):
        text, label = row[text_field].strip(), row[label_field].strip()
        if not text:
            raise DataError(f"{path}, line {line}: empty text in {text_field!r}; remove the example or fill it in")
        if not label:
            raise DataError(f"{path}, line {line}: empty label in {label_field!r}; every example needs its class")
        docs.append(Document(text=text, label=label, id=f"{path.name}:{line}"))
    return docs


def read_texts(path: str | Path, *, text_field: str = "text") -> list[str]:
    """Unlabelled texts (to classify) from a CSV, TSV or JSONL file: the ``text_field`` of every record,
    stripped; documents may span several lines. An empty text raises :class:`DataError`."""
    path = Path(path)
    texts = []
    for line, row in read_rows(path, (text_field,)):
        text = row[text_field].strip()
        if not text:
            raise DataError(f"{path}, line {line}: empty text in {text_field!r}; remove the record or fill it in")
        texts.append(text)
    return texts


# ---------------------------------------------------------------------------------------------
# Built-in corpora
# ---------------------------------------------------------------------------------------------


def _dedupe(docs: Iterable[Document]) -> list[Document]:
    """Drop documents whose text repeats an earlier one (the first is kept)."""
    seen: set[str] = set()
    kept = []
    for doc in docs:
        if doc.text not in seen:
            seen.add(doc.text)
            kept.append(doc)
    return kept


def _frequent(docs: list[Document], min_count: int) -> list[Document]:
    counts = Counter(d.label for d in docs)
    return [d for d in docs if counts[d.label] >= min_count]


def _stanzas(text: str) -> Iterable[dict[str, str]]:
    """Debian control stanzas as ``{field: value}``; continuation lines stay in the value, one per line."""
    for block in re.split(r"\n\s*\n", text):
        record: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and key is not None:
                record[key] += "\n" + line
            elif ":" in line:
                key, _, value = line.partition(":")
                record[key] = value.strip()
        if record:
            yield record


def _run(command: list[str], hint: str) -> str:
    if shutil.which(command[0]) is None and not Path(command[0]).is_file():
        raise DataError(f"{command[0]} not found: the debian corpus reads apt's package lists; {hint}")
    try:
        done = subprocess.run(command, capture_output=True, check=True, timeout=300)
    except subprocess.CalledProcessError as err:
        raise DataError(f"{' '.join(command)} failed: {err.stderr.decode(errors='replace').strip()}; {hint}") from None
    except (OSError, subprocess.TimeoutExpired) as err:
        raise DataError(f"{' '.join(command)} failed: {err}; {hint}") from None
    return done.stdout.decode("utf-8", errors="replace")


def _control_file(path: str | Path, what: str) -> str:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: {what} file not found; give a plain-text (uncompressed) {what} file, or leave it "
                        f"out to read apt's own lists")
    return path.read_text(encoding="utf-8", errors="replace")


_APT_HINT = (f"as root run `apt-get update -o Acquire::Languages=en` (Docker images set Acquire::Languages "
             f"\"none\", which leaves the long descriptions out, and a plain `apt-get update` removes them "
             f"again), or bash {INSTALL_SCRIPT}")
_APT_LISTS = Path("/var/lib/apt/lists")


def _translations(source: str | Path | None) -> dict[str, str]:
    """Description-md5 -> English description (synopsis line + continuation lines)."""
    if source is not None:
        text = _control_file(source, "Translation-en")
    else:
        files = sorted(str(p) for p in _APT_LISTS.glob("*_i18n_Translation-en*") if p.is_file())
        if not files:
            return {}
        text = _run(["/usr/lib/apt/apt-helper", "cat-file", *files], _APT_HINT)
    return {r["Description-md5"]: r["Description-en"] for r in _stanzas(text)
            if "Description-md5" in r and "Description-en" in r}


def _debian_text(description: str) -> str:
    """Synopsis as the first line, then the long description's paragraphs (`` .`` lines separate them)
    with wrapped lines joined, separated by blank lines."""
    synopsis, *body = description.split("\n")
    paragraphs: list[list[str]] = [[]]
    for line in body:
        content = line[1:] if line[:1] in (" ", "\t") else line
        if content.strip() == ".":
            paragraphs.append([])
        else:
            paragraphs[-1].append(content)
    parts = [synopsis.strip(), *(unwrap_lines(p) for p in paragraphs if p)]
    return "\n\n".join(p for p in parts if p)


def load_debian_packages(source: str | Path | None = None, *, translations: str | Path | None = None,
                         min_count: int = 200) -> list[Document]:
    """Debian package descriptions labelled with their archive section.

    ``source`` is a plain-text ``Packages`` file; by default the output of ``apt-cache dumpavail`` (apt
    keeps its lists lz4-compressed). Debian's ``Packages`` carry only the one-line synopsis: long
    descriptions are looked up by ``Description-md5`` in ``translations`` (a plain-text
    ``Translation-en`` file; without ``source`` and ``translations``, apt's downloaded ``Translation-en``
    lists), unless the stanza has its own. A package without a long description keeps its synopsis alone.

    Text: the synopsis, then the long description with wrapped lines joined and `` .`` lines turned into
    paragraph breaks. Label: ``Section`` without a ``contrib/``, ``non-free/`` or ``non-free-firmware/``
    prefix. Packages repeated in several lists keep their first stanza; documents under 5 words and
    documents whose text repeats an earlier one are dropped, then sections with fewer than ``min_count``
    documents. Ids are package names, groups source package names.
    """
    if source is None:
        packages = _run(["apt-cache", "dumpavail"], "install apt, or pass a plain-text Packages file as source")
    else:
        packages = _control_file(source, "Packages")
    long_texts = _translations(translations) if translations is not None or source is None else {}
    if not long_texts and source is None:
        raise DataError(f"apt has no English long descriptions (no {_APT_LISTS}/*_i18n_Translation-en*); "
                        f"{_APT_HINT}")
    docs, seen = [], set()
    for record in _stanzas(packages):
        name, section = record.get("Package", ""), record.get("Section", "")
        if not name or not section or name in seen or "Description" not in record:
            continue
        seen.add(name)
        description = record["Description"]
        if "\n" not in description:
            description = long_texts.get(record.get("Description-md5", ""), description)
        text = _debian_text(description)
        if len(_WORD.findall(text)) < 5:  # line and sentence breaks never split a word
            continue
        label = re.sub(r"^(?:contrib|non-free|non-free-firmware)/", "", section)
        group = record.get("Source", name).split()[0]
        docs.append(Document(text=text, label=label, id=name, group=group))
    return _frequent(_dedupe(docs), min_count)


# Lexicographer file numbers -> names, from lexnames(5WN) (WordNet 3.0).
LEXNAMES = (
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact", "noun.attribute",
    "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling", "noun.food", "noun.group",
    "noun.location", "noun.motive", "noun.object", "noun.person", "noun.phenomenon", "noun.plant",
    "noun.possession", "noun.process", "noun.quantity", "noun.relation", "noun.shape", "noun.state",
    "noun.substance", "noun.time", "verb.body", "verb.change", "verb.cognition", "verb.communication",
    "verb.competition", "verb.consumption", "verb.contact", "verb.creation", "verb.emotion", "verb.motion",
    "verb.perception", "verb.possession", "verb.social", "verb.stative", "verb.weather", "adj.ppl",
)
_WORDNET_FILES = (("n", "data.noun"), ("v", "data.verb"), ("a", "data.adj"), ("r", "data.adv"))
_GLOSS_PART = re.compile(r'(?:"[^"]*"|[^;"])+|"[^"]*$')  # a ";"-separated part; quotes protect ";"


def _gloss_parts(gloss: str) -> list[str]:
    """``definition; "example one"; "example two"`` -> its parts without the quotes."""
    parts = (p.strip().strip('"').strip() for p in _GLOSS_PART.findall(gloss))
    return [p for p in parts if p]


def load_wordnet(root: str | Path = "/usr/share/wordnet") -> list[Document]:
    """WordNet 3.0 glosses labelled with the synset's supersense (its lexicographer file, :data:`LEXNAMES`).

    Text: the gloss alone, one line per part (the definition and each example sentence, quotes removed),
    so that :func:`split_sentences` gives the parts back. The synset's own words are left out: they
    would make the task a dictionary lookup. Ids are ``"<pos>:<offset>"`` with ``pos`` one of
    ``n v a r``; a gloss that repeats an earlier one is dropped.
    """
    root = Path(root)
    docs = []
    for pos, name in _WORDNET_FILES:
        path = root / name
        if not path.is_file():
            raise DataError(f"{path} not found: the wordnet corpus needs WordNet 3.0; as root run "
                            f"`apt-get install -y wordnet-base` (or bash {INSTALL_SCRIPT})")
        with path.open(encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, start=1):
                if line.startswith("  "):  # the licence at the top of each file
                    continue
                head, _, gloss = line.partition(" | ")
                cols = head.split()
                if len(cols) < 4 or not cols[1].isdigit() or int(cols[1]) >= len(LEXNAMES):
                    raise DataError(f"{path}, line {number}: not a WordNet synset line; reinstall wordnet-base")
                parts = _gloss_parts(gloss)
                if parts:
                    docs.append(Document(text="\n".join(parts), label=LEXNAMES[int(cols[1])], id=f"{pos}:{cols[0]}"))
    return _dedupe(docs)


_OVERSTRIKE = re.compile(r".\x08")  # "_\bx" (underline) and "x\bx" (bold) both print as "x"
_ATTRIBUTION = re.compile(r"\s*(?:--|—)")


def strip_attribution(lines: list[str]) -> list[str]:
    """Drop trailing attribution lines (``-- Mark Twain``, ``— Anon.``) and the indented lines that
    continue them, as often as they occur at the end."""
    lines = list(lines)
    while lines and not lines[-1].strip():
        lines.pop()
    while lines:
        i = len(lines) - 1
        while i > 0 and lines[i][:1].isspace() and lines[i].strip() and not _ATTRIBUTION.match(lines[i]):
            i -= 1
        if not _ATTRIBUTION.match(lines[i]):
            break
        lines = lines[:i]
        while lines and not lines[-1].strip():
            lines.pop()
    return lines


def _fortune_text(item: str) -> str:
    lines = strip_attribution(_OVERSTRIKE.sub("", item).splitlines())
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            paragraphs[-1].append(line.expandtabs(8))
        elif paragraphs[-1]:
            paragraphs.append([])
    return "\n\n".join(unwrap_lines(p, min_length=50) for p in paragraphs if p)


def load_fortunes(root: str | Path = "/usr/share/games/fortunes", *, min_count: int = 50) -> list[Document]:
    """Fortune-cookie texts labelled with their category (the file they come from).

    Every regular file except the ``.dat`` indexes and ``.u8`` links is a category; items are separated
    by lines that are exactly ``%``. Overstrike sequences are resolved, trailing attributions
    (``-- Author``) removed so that authors do not give the category away, and hard-wrapped prose
    joined (:func:`unwrap_lines`, ``min_length=50``, which keeps verse lines apart). Empty items and
    items repeating an earlier text are dropped, then categories with fewer than ``min_count`` items.
    Ids are ``"<category>:<n>"``, ``n`` counting the category's items from 0.
    """
    root = Path(root)
    files = sorted(p for p in root.iterdir() if p.is_file() and not p.is_symlink()
                   and p.suffix not in (".dat", ".u8")) if root.is_dir() else []
    if not files:
        raise DataError(f"no fortune files in {root}: the fortunes corpus needs them; as root run "
                        f"`apt-get install -y fortunes fortunes-min` (or bash {INSTALL_SCRIPT})")
    docs = []
    for path in files:
        items = re.split(r"^%$\n?", path.read_text(encoding="utf-8", errors="replace"), flags=re.M)
        for n, item in enumerate(items):
            text = _fortune_text(item)
            if text:
                docs.append(Document(text=text, label=path.name, id=f"{path.name}:{n}"))
    return _frequent(_dedupe(docs), min_count)


# ---------------------------------------------------------------------------------------------
# Splits and the cached corpora
# ---------------------------------------------------------------------------------------------


def split_of(key: str, *, dev: float = 0.1, test: float = 0.1) -> str:
    """The split of a document key: the first 8 bytes of SHA-256 of ``key`` read as a fraction in
    [0, 1) put it in ``test`` below ``test``, in ``dev`` below ``test + dev``, else in ``train``."""
    x = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") / 2**64
    return "test" if x < test else "dev" if x < test + dev else "train"


def split_documents(docs: Iterable[Document], *, dev: float = 0.1, test: float = 0.1) -> dict[str, list[Document]]:
    """A fixed train/dev/test split, each document placed by :func:`split_of` of its ``group`` (or its
    ``id`` when it has none): independent of the other documents, of their order and of the Python
    process, so a document keeps its split when a corpus grows. Order within a split is kept."""
    if dev < 0 or test < 0 or dev + test >= 1:
        raise ValueError(f"dev and test must be fractions with dev + test < 1, got dev={dev}, test={test}")
    out: dict[str, list[Document]] = {name: [] for name in SPLITS}
    for doc in docs:
        out[split_of(doc.group or doc.id, dev=dev, test=test)].append(doc)
    return out


_LOADERS = {"debian": load_debian_packages, "wordnet": load_wordnet, "fortunes": load_fortunes}


@functools.lru_cache(maxsize=8)
def _split_corpus(corpus: str, options: tuple[tuple[str, object], ...]) -> dict[str, tuple[Document, ...]]:
    docs = _LOADERS[corpus](**dict(options))
    parts = split_documents(docs)
    return {"all": tuple(docs), **{name: tuple(part) for name, part in parts.items()}}


def load_documents(corpus: str, split: str, **options: object) -> list[Document]:
    """Documents of one split (``train``, ``dev``, ``test`` or ``all``) of a built-in corpus
    (:data:`CORPORA`); ``options`` go to its loader. A corpus is parsed once per process and options."""
    if corpus not in _LOADERS:
        raise DataError(f"unknown corpus {corpus!r}; the built-in document corpora are {', '.join(CORPORA)}")
    if split not in (*SPLITS, "all"):
        raise ValueError(f"split must be one of {(*SPLITS, 'all')}, got {split!r}")
    return list(_split_corpus(corpus, tuple(sorted(options.items())))[split])


# ---------------------------------------------------------------------------------------------
# Batching
# ---------------------------------------------------------------------------------------------


def batch_to(batch, device: torch.device | str, non_blocking: bool = False):
    """A copy of a batch dataclass with every tensor field on ``device``."""
    values = {f.name: getattr(batch, f.name) for f in fields(batch)}
    for key, value in values.items():
        if isinstance(value, Tensor):
            values[key] = value.to(device, non_blocking=non_blocking)
    return type(batch)(**values)


def check_batch_sizes(labels: Sequence[int], index: Sequence[int], n: int, what: str) -> None:
    """Raise ValueError unless there are ``n > 0`` examples with one label and one index each."""
    if n == 0:
        raise ValueError(f"a batch needs at least one {what}")
    if not n == len(labels) == len(index):
        raise ValueError(f"got {n} {what}s, {len(labels)} labels and {len(index)} indices; they must match")


@dataclass
class DocBatch:
    """Padded documents for hierarchical models.

    Shapes:
        tokens: ``[B, N, W]`` long, 0 = padding; mask: ``[B, N, W]`` bool, True = real word;
        labels: ``[B]`` long; index: positions of the documents in their corpus, in batch order.
    """

    tokens: Tensor
    mask: Tensor
    labels: Tensor
    index: list[int]

    @property
    def sentence_mask(self) -> Tensor:
        """``[B, N]`` bool: True for real sentences."""
        return self.mask.any(-1)

    def to(self, device: torch.device | str, non_blocking: bool = False) -> DocBatch:
        """A copy with every tensor on ``device``."""
        return batch_to(self, device, non_blocking)


def make_doc_batch(docs: Sequence[Sequence[Sequence[int]]], labels: Sequence[int], index: Sequence[int]) -> DocBatch:
    """Pad documents (sentences of word ids, as :meth:`DocumentVocab.encode` returns) into a
    :class:`DocBatch`: every sentence to the longest sentence, every document to the most sentences."""
    check_batch_sizes(labels, index, len(docs), "document")
    for b, doc in enumerate(docs):
        if not doc or not all(len(s) for s in doc):
            raise ValueError(f"document {b} of the batch is empty or has an empty sentence; "
                             "DocumentVocab.encode never produces either")
    n, w = max(len(d) for d in docs), max(len(s) for d in docs for s in d)
    blank = [PAD_ID] * w
    rows = [[[*s, *blank[len(s):]] for s in d] + [blank] * (n - len(d)) for d in docs]
    tokens = torch.tensor(rows, dtype=torch.long)  # [B, N, W]
    lengths = torch.tensor([[len(s) for s in d] + [0] * (n - len(d)) for d in docs])  # [B, N]
    mask = torch.arange(w)[None, None, :] < lengths[:, :, None]  # [B, N, W]
    return DocBatch(tokens, mask, torch.as_tensor(list(labels), dtype=torch.long), [int(i) for i in index])


@dataclass
class FlatBatch:
    """Padded word sequences for flat models.

    Shapes:
        tokens: ``[B, S]`` long, 0 = padding; mask: ``[B, S]`` bool, True = real word;
        labels: ``[B]`` long; index: positions of the documents in their corpus, in batch order.
    """

    tokens: Tensor
    mask: Tensor
    labels: Tensor
    index: list[int]

    def to(self, device: torch.device | str, non_blocking: bool = False) -> FlatBatch:
        """A copy with every tensor on ``device``."""
        return batch_to(self, device, non_blocking)


def pad_sequences(seqs: Sequence[Sequence[int]], what: str = "sequence") -> tuple[Tensor, Tensor]:
    """Right-pad non-empty id sequences: ``tokens [B, L]`` long (0 = padding) and ``mask [B, L]`` bool."""
    if any(len(s) == 0 for s in seqs):
        raise ValueError(f"every {what} needs at least one token; encode_flat never returns an empty one")
    width = max(len(s) for s in seqs)
    tokens = torch.zeros(len(seqs), width, dtype=torch.long)  # [B, L]
    for row, seq in enumerate(seqs):
        tokens[row, : len(seq)] = torch.as_tensor(list(seq), dtype=torch.long)
    lengths = torch.as_tensor([len(s) for s in seqs])
    return tokens, torch.arange(width)[None, :] < lengths[:, None]  # [B, L], [B, L]


def make_flat_batch(seqs: Sequence[Sequence[int]], labels: Sequence[int], index: Sequence[int]) -> FlatBatch:
    """Pad word-id sequences (as :meth:`DocumentVocab.encode_flat` returns) into a :class:`FlatBatch`."""
    check_batch_sizes(labels, index, len(seqs), "document")
    tokens, mask = pad_sequences(seqs, "document")
    return FlatBatch(tokens, mask, torch.as_tensor(list(labels), dtype=torch.long), [int(i) for i in index])
