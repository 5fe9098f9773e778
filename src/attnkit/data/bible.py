"""The built-in ``bible`` corpus: verse-aligned Spanish/English translation pairs.

Three public-domain translations installed offline from Debian's SWORD modules are read with
``pysword``, cleaned of their OSIS markup, aligned by verse reference (KJV versification), purged of
chapters whose verse numbering disagrees, split deterministically into train/dev/test, and cached on
disk as one TSV file:

- ``kjv``: King James Version (``engKJV2006eb``, package ``sword-text-kjv``)
- ``web``: World English Bible (``engWEB2015eb``, package ``sword-text-web``)
- ``rv``: Reina-Valera 1909 (``spaRV1909eb``, package ``sword-text-sparv``)

``docs/data.md`` documents the cleaning rules, the misalignment checks and the measured sizes.
"""

from __future__ import annotations

import functools
import hashlib
import html
import math
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from attnkit.data.examples import Pair
from attnkit.errors import DataError

MODULES = {"kjv": "engKJV2006eb", "web": "engWEB2015eb", "rv": "spaRV1909eb"}
TRANSLATIONS = tuple(MODULES)
SPLITS = ("train", "dev", "test")
APT_HINT = "apt-get install -y sword-text-kjv sword-text-web sword-text-sparv"
PIP_HINT = "pip install pysword  (or: pip install 'attnkit[bible]')"
DEFAULT_SWORD_DIRS = (Path("/usr/share/sword"), Path.home() / ".sword")
CACHE_VERSION = 1
CACHE_NAME = f"bible-v{CACHE_VERSION}.tsv"
CACHE_HEADER = ("id", "split", "kjv", "web", "rv")

# Split buckets: sha256(verse id) -> 0..9999. Test takes [0, 350), dev [350, 680), train the rest.
SPLIT_BUCKETS = 10_000
TEST_BUCKETS = 350
DEV_BUCKETS = 330

# Ps 119 is an acrostic: KJV puts the Hebrew letter in a non-canonical title, WEB in a canonical one
# ("ALEPH", "SIN AND SHIN"), RV1909 inline ("ALEPH. BIENAVENTURADOS ..."). They are dropped from all
# three so the pairs agree. RV1909's spellings:
HEBREW_LETTERS = frozenset(
    "ALEPH BETH GIMEL DALETH HE VAU ZAIN CHETH TETH JOD CAPH LAMED MEM NUN SAMECH AIN PE TZADDI COPH "
    "RESH SIN TAU".split()
)

# ---------------------------------------------------------------------------------------------
# OSIS cleaning
# ---------------------------------------------------------------------------------------------

_SOFT = "\x00"  # where removed material touched the text: a space only if it would glue two words
_TRUNCATE = re.compile(r'<div\b[^>]*\btype="(?:glossary|book)"[^>]*/>')
_NOTE = re.compile(r"<note\b[^>]*>.*?</note>", re.S)
_DROP_WITH_CONTENT = re.compile(r"<(speaker|catchWord|rdg)\b[^>]*>.*?</\1>", re.S)
_TITLE = re.compile(r"<title\b([^>]*)>(.*?)</title>", re.S)
_STRUCTURAL = re.compile(r"</?(?:l|lg|lb|div|chapter|milestone|list|item|p)\b[^>]*>")
_ANY_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_USFM = re.compile(r"\\\+?[a-z]+[0-9]?\*?")  # stray USFM character markers such as ``\nd`` in KJV
# Words that RV1909 marks as supplied sit in <transChange> glued to the neighbouring <w> with no space:
# "díjo</w><transChange>le</transChange><w>Dios" is "díjole Dios". Only enclitic pronouns attach, and
# only to a verb; "no</w><transChange>lo" is "no lo". (Patterns start with "<" for speed.)
_TC_OPEN = re.compile(r"(?:</w>)*<transChange\b[^>]*>(.*?)(?=</transChange>)", re.S)
_TC_CLOSE = re.compile(r"(?:</w>)*</transChange>(?=(?:<w\b[^>]*>)*\w)")
_W_OPEN = re.compile(r"<(?<=\w<)(?=w\b)")
_CLITIC = re.compile(r"(?:[mts]e|l[aeo]s?|nos|os)+")
_NOT_VERB = frozenset("no ni que y é e á a o u se de en".split())
_LAST_WORD = re.compile(r"(^|\S)\W*?(\w+)$")
_SENTENCE_START = frozenset(".:;!?¡¿")
_SOFT_RUN = re.compile(_SOFT + "+")
_NO_SPACE_AFTER = frozenset("([“‘¡¿«")
_NO_SPACE_BEFORE = frozenset(",.;:!?)]’”»")
_ACROSTIC = re.compile(r"[\u05d0-\u05ea\sA-Z.]*[A-Z][\u05d0-\u05ea\sA-Z.]*")  # upper case only
_CAPS_RUN = re.compile(r"\b[A-ZÁÉÍÓÚÑ]{2,}(?:\s+[A-ZÁÉÍÓÚÑ]{2,})*\b")
_INLINE_ACROSTIC = re.compile(r"^([A-Z]+)\.?\s+(?=\S)")


def _title(match: re.Match[str]) -> str:
    """Keep a canonical title's text (psalm superscriptions); drop other titles and acrostic letters."""
    attrs, inner = match.group(1), match.group(2)
    if 'canonical="true"' not in attrs:
        return _SOFT
    if _ACROSTIC.fullmatch(_ANY_TAG.sub("", inner)):
        return _SOFT
    return f" {inner} "


def _word_before(match: re.Match[str]) -> tuple[str, bool] | None:
    """The word the match touches on its left and whether it starts a sentence; None if none touches."""
    if match.start() == 0 or not match.string[match.start() - 1].isalnum():
        return None
    found = _LAST_WORD.search(_ANY_TAG.sub("", match.string[: match.start()]))
    if found is None:
        return None
    return found.group(2), found.group(1) in _SENTENCE_START or found.group(1) == ""


def _supplied_open(match: re.Match[str]) -> str:
    """Separate a supplied word from the word before it unless it is a pronoun enclitic on a verb
    (a lower-case or sentence-initial word that is not a particle)."""
    before = _word_before(match)
    if before is None:
        return match.group(0)
    word, initial = before
    verb_like = (word[0].islower() or initial) and word.lower() not in _NOT_VERB
    enclitic = verb_like and _CLITIC.fullmatch(_ANY_TAG.sub("", match.group(1)))
    return match.group(0) if enclitic else " " + match.group(0)


def _supplied_close(match: re.Match[str]) -> str:
    """A supplied word glued to the next word: they are two words."""
    return match.group(0) + " " if _word_before(match) is not None else match.group(0)


def _soft(match: re.Match[str]) -> str:
    """Removed material becomes a space only where the text on both sides would otherwise touch."""
    text, start, end = match.string, match.start(), match.end()
    left = text[start - 1] if start > 0 else " "
    right = text[end] if end < len(text) else " "
    if left.isspace() or right.isspace() or left in _NO_SPACE_AFTER or right in _NO_SPACE_BEFORE:
        return ""
    return " "


def clean_osis(text: str) -> str:
    """Turn one verse of OSIS markup into plain text without gluing or splitting words.

    Footnotes (``<note>``), WEB's ``<speaker>`` labels, non-canonical titles and acrostic letters are
    dropped with their content; canonical titles (psalm superscriptions) and the text of ``<w>``,
    ``<transChange>``, ``<q>``, ``<divineName>``, ``<l>``/``<lg>`` etc. are kept. Anything after a
    book-end or glossary marker (WEB's Rev 22:21 carries the whole glossary) is cut off. A removed
    note becomes a space only where it separated two words; line and paragraph tags become spaces.
    Pilcrows are dropped, entities unescaped and whitespace collapsed.
    """
    cut = _TRUNCATE.search(text)
    if cut:
        text = text[: cut.start()]
    text = _NOTE.sub(_SOFT, text)
    if "<transChange" in text:
        text = _TC_OPEN.sub(_supplied_open, text)
        text = _TC_CLOSE.sub(_supplied_close, text)
    text = _W_OPEN.sub(" <", text)
    text = _USFM.sub("", text)
    text = _DROP_WITH_CONTENT.sub(_SOFT, text)
    text = _TITLE.sub(_title, text)
    text = _STRUCTURAL.sub(" ", text)
    text = _ANY_TAG.sub("", text)
    if _SOFT in text:
        text = _SOFT_RUN.sub(_soft, text)
    if "&" in text:
        text = html.unescape(text)
    return " ".join(text.replace("¶", " ").split())


def fix_drop_cap(text: str) -> str:
    """RV1909 prints a chapter's first word(s) in capitals ("EN el principio"); write them normally.

    Only the first run of upper-case words is changed, to sentence case if a sentence starts there.
    """
    run = _CAPS_RUN.search(text)
    if run is None:
        return text
    before = text[: run.start()].rstrip()
    words = run.group(0).lower()
    if not before or before[-1] in _SENTENCE_START:
        words = words[0].upper() + words[1:]
    return text[: run.start()] + words + text[run.end() :]


_SUBSCRIPTION = re.compile(r"(Amén\.)\s+(?=[^.]*\b(?:[Ee]scrita|[Ee]nviada)\b).*$")


def strip_subscription(text: str) -> str:
    """Cut the subscription RV1909 appends to an epistle's last verse ("... Amén. Escrita de Roma ...");
    the KJV module leaves it out."""
    return _SUBSCRIPTION.sub(r"\1", text)


def strip_inline_acrostic(text: str) -> str:
    """Drop a leading Hebrew letter name ("ALEPH. ...") that RV1909 prints inline in Ps 119."""
    match = _INLINE_ACROSTIC.match(text)
    if match and match.group(1) in HEBREW_LETTERS:
        return text[match.end() :]
    return text


# ---------------------------------------------------------------------------------------------
# Reading the SWORD modules
# ---------------------------------------------------------------------------------------------

Ref = tuple[str, int, int]  # (OSIS book, chapter, verse), e.g. ("Gen", 1, 1)


def verse_id(ref: Ref) -> str:
    """``("Gen", 1, 1)`` -> ``"Gen.1.1"``."""
    return f"{ref[0]}.{ref[1]}.{ref[2]}"


def _has_modules(path: Path) -> bool:
    try:
        confs = {entry.name.lower() for entry in (path / "mods.d").iterdir()}
    except OSError:
        return False
    return all(f"{name.lower()}.conf" in confs for name in MODULES.values())


def find_sword_dir(sword_dir: Path | str | None = None) -> Path | None:
    """The first SWORD library holding all three modules: ``sword_dir``, else ``$ATTNKIT_SWORD_DIR``,
    else ``/usr/share/sword`` or ``~/.sword``. ``None`` if there is none."""
    if sword_dir is not None:
        candidates: Sequence[Path] = (Path(sword_dir),)
    elif os.environ.get("ATTNKIT_SWORD_DIR"):
        candidates = (Path(os.environ["ATTNKIT_SWORD_DIR"]),)
    else:
        candidates = DEFAULT_SWORD_DIRS
    return next((path for path in candidates if _has_modules(path)), None)


def _import_pysword():
    try:
        from pysword.modules import SwordModules
    except ImportError as exc:
        raise DataError(f"the bible corpus needs the Python package pysword: {PIP_HINT}") from exc
    return SwordModules


def bible_available(sword_dir: Path | str | None = None) -> bool:
    """True when pysword is importable and the three SWORD modules are installed."""
    try:
        _import_pysword()
    except DataError:
        return False
    return find_sword_dir(sword_dir) is not None


def _require_sword_dir(sword_dir: Path | str | None) -> Path:
    _import_pysword()
    found = find_sword_dir(sword_dir)
    if found is None:
        where = sword_dir or os.environ.get("ATTNKIT_SWORD_DIR") or " or ".join(map(str, DEFAULT_SWORD_DIRS))
        wanted = ", ".join(MODULES.values())
        raise DataError(
            f"the bible corpus needs the SWORD modules {wanted} (not found in {where}); "
            f"install them as root with: {APT_HINT}  (or point ATTNKIT_SWORD_DIR at a SWORD library)"
        )
    return found


def _open_bible(library, module: str):
    """Open one module with its block decompression memoised.

    pysword decompresses a whole book block for every verse it returns; caching the few most recent
    blocks on this instance (not on the class) makes reading a whole Bible take a fraction of a second.
    """
    bible = library.get_bible_from_module(module)
    if hasattr(bible, "_decompressed_text"):
        bible._decompressed_text = functools.lru_cache(maxsize=8)(bible._decompressed_text)
    return bible


def read_module(library, module: str) -> dict[Ref, str]:
    """Every verse of ``module`` in its own versification, as raw OSIS keyed by ``(book, ch, verse)``."""
    bible = _open_bible(library, module)
    verses: dict[Ref, str] = {}
    for books in bible.get_structure().get_books().values():
        for book in books:
            for chapter, length in enumerate(book.chapter_lengths, start=1):
                texts = list(bible.get_iter(books=book.name, chapters=chapter, clean=False))
                if len(texts) != length:
                    raise DataError(f"{module}: {book.osis_name} {chapter} has {len(texts)} verses, not {length}")
                for verse, text in enumerate(texts, start=1):
                    verses[(book.osis_name, chapter, verse)] = text
    return verses


def read_translations(sword_dir: Path) -> dict[str, dict[Ref, str]]:
    """Cleaned text of the three translations keyed by KJV references (missing or empty -> "")."""
    SwordModules = _import_pysword()
    library = SwordModules(str(sword_dir))
    library.parse_modules()
    raw = {key: read_module(library, module) for key, module in MODULES.items()}
    refs = list(raw["kjv"])
    cleaned: dict[str, dict[Ref, str]] = {}
    for key in TRANSLATIONS:
        source = raw[key]
        cleaned[key] = {ref: clean_osis(source.get(ref, "")) for ref in refs}
    rv = cleaned["rv"]
    last_verses = {ref[0]: ref for ref in refs}.values()
    for ref in last_verses:
        rv[ref] = strip_subscription(rv[ref])
    for ref in refs:
        if ref[:2] == ("Ps", 119):
            rv[ref] = strip_inline_acrostic(rv[ref])
        if ref[2] == 1:
            rv[ref] = fix_drop_cap(rv[ref])
    return cleaned


# ---------------------------------------------------------------------------------------------
# Misalignment detection
# ---------------------------------------------------------------------------------------------

# Gale & Church (1993), "A program for aligning sentences in bilingual corpora": step priors.
# 2-2 is left out on purpose: on the diagonal it is the identity, and we only ask "identity or not".
_STEP_PRIORS = {(1, 1): 0.89, (1, 0): 0.0099 / 2, (0, 1): 0.0099 / 2, (2, 1): 0.089 / 2, (1, 2): 0.089 / 2}
SHIFT_MARGIN = 0.25  # neighbour correlation must beat same-verse correlation by this much ...
SHIFT_FLOOR = 0.6  # ... and be at least this high, for a whole chapter to count as shifted
MAX_LOCAL_FRACTION = 0.25  # a chapter whose off-diagonal verses exceed this share is dropped whole


@dataclass(frozen=True)
class LengthModel:
    """Target characters per source character (``ratio``) and the variance of the per-character
    difference (``variance``), as in Gale & Church's ``c`` and ``s^2``."""

    ratio: float
    variance: float

    @classmethod
    def fit(cls, src_lens: Sequence[int], tgt_lens: Sequence[int]) -> LengthModel:
        """Estimate both from aligned lengths."""
        ratio = sum(tgt_lens) / max(1, sum(src_lens))
        devs = [(t - s * ratio) / math.sqrt(max(s, 1)) for s, t in zip(src_lens, tgt_lens, strict=True)]
        mean = sum(devs) / max(1, len(devs))
        variance = sum((d - mean) ** 2 for d in devs) / max(1, len(devs))
        return cls(ratio, max(variance, 1e-3))

    def cost(self, src_len: int, tgt_len: int) -> float:
        """-log P(|delta|) for a pair of spans with these lengths."""
        mean = max((src_len + tgt_len / self.ratio) / 2, 1.0)
        delta = (tgt_len - src_len * self.ratio) / math.sqrt(mean * self.variance)
        return -math.log(max(math.erfc(abs(delta) / math.sqrt(2)), 1e-300))


def alignment_path(
    src: Sequence[int], tgt: Sequence[int], model: LengthModel, band: int = 6
) -> list[tuple[int, int, int, int]]:
    """Best Gale-Church alignment of two verse-length sequences as ``(i, j, di, dj)`` steps: source
    verses ``i:i+di`` go with target verses ``j:j+dj``. Paths stay within ``band`` of the diagonal."""
    n, m = len(src), len(tgt)
    band = max(band, abs(n - m) + 1)
    best: dict[tuple[int, int], tuple[float, tuple[int, int] | None]] = {(0, 0): (0.0, None)}
    for i in range(n + 1):
        for j in range(max(0, i - band), min(m, i + band) + 1):
            for (di, dj), prior in _STEP_PRIORS.items():
                prev = best.get((i - di, j - dj))
                if prev is None or i < di or j < dj:
                    continue
                cost = prev[0] - math.log(prior)
                if di and dj:
                    cost += model.cost(sum(src[i - di : i]), sum(tgt[j - dj : j]))
                if (i, j) not in best or cost < best[(i, j)][0]:
                    best[(i, j)] = (cost, (di, dj))
    steps, i, j = [], n, m
    while i or j:
        di, dj = best[(i, j)][1]
        i, j = i - di, j - dj
        steps.append((i, j, di, dj))
    return steps[::-1]


def off_diagonal(src: Sequence[int], tgt: Sequence[int], model: LengthModel) -> set[int]:
    """Indices of verses the length alignment does not pair with the same-numbered verse."""
    bad: set[int] = set()
    for i, j, di, dj in alignment_path(src, tgt, model):
        if i != j or di != dj:
            bad.update(range(min(i, j), max(i + di, j + dj)))
    return {k for k in bad if k < min(len(src), len(tgt))}


def _correlation(x: Sequence[float], y: Sequence[float]) -> float:
    n = len(x)
    if n < 3:
        return 0.0
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx, syy = sum((a - mx) ** 2 for a in x), sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else 0.0


def is_shifted(src: Sequence[int], tgt: Sequence[int]) -> bool:
    """True when a chapter's target verse lengths follow the source shifted by one verse: the
    correlation of log lengths at offset +-1 beats offset 0 by ``SHIFT_MARGIN`` and reaches ``SHIFT_FLOOR``."""
    if len(src) < 4:
        return False
    x, y = [math.log(max(v, 1)) for v in src], [math.log(max(v, 1)) for v in tgt]
    same = _correlation(x, y)
    shifted = max(_correlation(x[1:], y[:-1]), _correlation(x[:-1], y[1:]))
    return shifted >= SHIFT_FLOOR and shifted - same >= SHIFT_MARGIN


def _chapters(refs: Iterable[Ref]) -> dict[tuple[str, int], list[Ref]]:
    chapters: dict[tuple[str, int], list[Ref]] = {}
    for ref in refs:
        chapters.setdefault(ref[:2], []).append(ref)
    return chapters


def _empty_verse_chapters(texts: dict[str, dict[Ref, str]], chapters: dict[tuple[str, int], list[Ref]]) -> set:
    """Chapters with an empty KJV or RV verse, and the chapter after each: an empty
    verse is where RV1909 kept Spanish numbering, which shifts the rest of that chapter or the next."""
    keys = list(chapters)
    flagged = set()
    for k, key in enumerate(keys):
        if any(not texts[t][ref] for ref in chapters[key] for t in ("kjv", "rv")):
            flagged.add(key)
            if k + 1 < len(keys) and keys[k + 1][0] == key[0]:
                flagged.add(keys[k + 1])
    return flagged


def align_verses(texts: dict[str, dict[Ref, str]]) -> tuple[list[Ref], dict[str, int]]:
    """The verse references safe to pair across all three translations, and counts of what was dropped.

    1. chapters with an empty KJV/RV verse, and the chapter after each, are dropped;
    2. verses empty in WEB (textual omissions such as Luke 17:36) are dropped singly;
    3. a chapter whose RV verse lengths track KJV shifted by one verse (``is_shifted``) is dropped;
    4. verses a Gale-Church length alignment pairs off the diagonal (``off_diagonal``) are dropped,
       the whole chapter when they exceed ``MAX_LOCAL_FRACTION`` of it.
    """
    chapters = _chapters(texts["kjv"])
    empty = _empty_verse_chapters(texts, chapters)
    stats = {"verses": sum(map(len, chapters.values())), "chapters": len(chapters)}
    stats["empty_rule_chapters"] = len(empty)
    stats["empty_rule_verses"] = sum(len(chapters[key]) for key in empty)
    usable = {
        key: [ref for ref in refs if all(texts[t][ref] for t in TRANSLATIONS)]
        for key, refs in chapters.items()
        if key not in empty
    }
    stats["web_missing_verses"] = sum(len(chapters[key]) - len(refs) for key, refs in usable.items())
    lengths = {t: {ref: len(texts[t][ref]) for refs in usable.values() for ref in refs} for t in ("kjv", "rv")}
    model = LengthModel.fit(list(lengths["kjv"].values()), list(lengths["rv"].values()))
    kept: list[Ref] = []
    counts = {"shifted_chapters": 0, "shifted_verses": 0, "local_chapters": 0, "local_verses": 0}
    for refs in usable.values():
        src = [lengths["kjv"][ref] for ref in refs]
        tgt = [lengths["rv"][ref] for ref in refs]
        if is_shifted(src, tgt):
            counts["shifted_chapters"] += 1
            counts["shifted_verses"] += len(refs)
            continue
        bad = off_diagonal(src, tgt, model)
        if len(bad) > MAX_LOCAL_FRACTION * len(refs):
            bad = set(range(len(refs)))
            counts["local_chapters"] += 1
        counts["local_verses"] += len(bad)
        kept.extend(ref for k, ref in enumerate(refs) if k not in bad)
    stats.update(counts, kept=len(kept), length_ratio=round(model.ratio, 4))
    return kept, stats


# ---------------------------------------------------------------------------------------------
# Splits, cache and public API
# ---------------------------------------------------------------------------------------------


def split_of(verse: str) -> str:
    """The fixed split of a verse id ("Gen.1.1"): the first 8 bytes of its SHA-256 modulo 10,000 put
    it in ``test`` below 350, ``dev`` below 680, else ``train``. Independent of everything else, so a
    verse never changes split when cleaning or alignment rules change."""
    bucket = int.from_bytes(hashlib.sha256(verse.encode("utf-8")).digest()[:8], "big") % SPLIT_BUCKETS
    if bucket < TEST_BUCKETS:
        return "test"
    if bucket < TEST_BUCKETS + DEV_BUCKETS:
        return "dev"
    return "train"


def default_cache_dir() -> Path:
    """``$ATTNKIT_CACHE/bible`` or ``~/.cache/attnkit/bible``."""
    root = os.environ.get("ATTNKIT_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "attnkit") / "bible"


def _write_atomic(path: Path, rows: Iterable[Sequence[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            for row in rows:
                out.write("\t".join(row) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _log(progress: bool, message: str) -> None:
    if progress:
        print(f"[bible] {message}", file=sys.stderr, flush=True)


def prepare_bible(
    cache_dir: Path | None = None, *, force: bool = False, sword_dir: Path | None = None, progress: bool = True
) -> Path:
    """Build the cleaned, aligned, split corpus once and return the path of its TSV cache
    (columns ``id split kjv web rv``). An existing cache is reused unless ``force``."""
    path = Path(cache_dir or default_cache_dir()) / CACHE_NAME
    if path.is_file() and not force:
        return path
    library = _require_sword_dir(sword_dir)
    start = time.perf_counter()
    texts = read_translations(library)
    _log(progress, f"read {len(texts['kjv'])} verses x 3 from {library} in {time.perf_counter() - start:.1f}s")
    kept, stats = align_verses(texts)
    rows = [(verse_id(ref), split_of(verse_id(ref)), *(texts[t][ref] for t in TRANSLATIONS)) for ref in kept]
    sizes = {name: sum(row[1] == name for row in rows) for name in SPLITS}
    _write_atomic(path, [CACHE_HEADER, *rows])
    _log(progress, " ".join(f"{key}={value}" for key, value in stats.items()))
    _log(progress, f"splits {sizes}; wrote {path} in {time.perf_counter() - start:.1f}s")
    return path


@functools.lru_cache(maxsize=4)
def _read_cache(path: Path, mtime_ns: int) -> tuple[tuple[str, ...], ...]:
    with path.open(encoding="utf-8") as lines:
        header = tuple(next(lines, "").rstrip("\n").split("\t"))
        if header != CACHE_HEADER:
            raise DataError(f"{path}: not a bible cache (header {header}); delete it or use force=True")
        rows = tuple(tuple(line.rstrip("\n").split("\t")) for line in lines)
    for number, row in enumerate(rows, start=2):
        if len(row) != len(CACHE_HEADER):
            raise DataError(f"{path}:{number}: expected {len(CACHE_HEADER)} columns, got {len(row)}")
    return rows


def _columns(src: str, tgt: str, english: str) -> tuple[int, int]:
    if english not in ("kjv", "web"):
        raise ValueError(f"english must be 'kjv' or 'web', got {english!r}")
    other = "web" if english == "kjv" else "kjv"
    column = {("es", "en"): ("rv", english), ("en", "es"): (english, "rv"), ("en", "en"): (english, other)}
    if (src, tgt) not in column:
        raise ValueError(f"unsupported direction {src}->{tgt}; use es->en, en->es or en->en")
    return tuple(CACHE_HEADER.index(name) for name in column[(src, tgt)])  # type: ignore[return-value]


def load_bible(
    split: str, *, src: str = "es", tgt: str = "en", english: str = "kjv", cache_dir: Path | None = None
) -> list[Pair]:
    """Verse pairs of one split (``train``, ``dev``, ``test`` or ``all``), ids like ``"Gen.1.1"``.

    ``es->en`` pairs RV1909 with ``english`` (``kjv`` or ``web``), ``en->es`` the reverse, ``en->en``
    pairs ``english`` with the other English version. Builds the cache on first use.
    """
    if split not in (*SPLITS, "all"):
        raise ValueError(f"split must be one of {(*SPLITS, 'all')}, got {split!r}")
    src_col, tgt_col = _columns(src, tgt, english)
    path = Path(cache_dir or default_cache_dir()) / CACHE_NAME
    if not path.is_file():
        prepare_bible(cache_dir, progress=False)
    rows = _read_cache(path, path.stat().st_mtime_ns)
    return [Pair(src=row[src_col], tgt=row[tgt_col], id=row[0]) for row in rows if split in ("all", row[1])]
