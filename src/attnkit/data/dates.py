"""The built-in ``dates`` corpus: human-readable dates (English and Spanish) -> ISO 8601 ``YYYY-MM-DD``.

A small translation task whose correct alignment is known exactly, so attention maps can be scored
against it (alignment error rate). Dates are drawn uniformly from 1950-01-01 to 2049-12-31 and written
in one of the formats in :data:`FORMATS`, in one letter case (:data:`CASES`).

Conventions (every source string maps to exactly one date):

- all-numeric forms with slashes are US order, month/day/year: ``03/04/98`` is 1998-03-04;
- all-numeric forms with dots or dashes are day.month.year: ``03.04.98`` and ``03-04-1998`` are
  1998-04-03;
- a two-digit year ``yy`` is 19yy for 50-99 and 20yy for 00-49 (which covers 1950-2049 exactly);
- weekdays, when present, are the true weekday of the date;
- Spanish day 1 may be written ``1``, ``1.º`` or ``primero``; English ordinals are ``1st``, ``2nd``,
  ``3rd``, ``4th`` ... ``11th``, ``12th``, ``13th``, ``21st``.

Gold alignment, as ``(src_char_index, tgt_char_index)`` links (see :class:`~attnkit.data.examples.Pair`):

- year digits <- source year digits one to one (sure); for a two-digit year the last two target
  digits link sure to the two source digits and the century digits ``19``/``20`` link *possible* to
  both source digits;
- month digits <- the month number one to one (sure), a single-digit month linking sure to the last
  target digit and *possible* to the padding ``0``; or every character of the month name, *possible*:
  a name produces both digits jointly and no single character of it is unambiguously the source of
  either (Och & Ney 2003 keep S for unambiguous links, P for ambiguous ones);
- day digits <- the day number in the same way; ordinal suffixes (``rd``, ``.º``) and the word
  ``primero`` link *possible* to both day digits;
- the two ``-`` separators <- every character of the separators between date fields (``/``, ``.``,
  spaces, ``, ``, `` de ``), *possible*: the source's separators produce the target's, but which
  produces which is ambiguous;
- weekdays, leading words (``el``) and the apostrophe of ``'98`` have no links.

``sure`` ⊆ ``possible`` always. Pair ids are ``dates-<stream index>-<format name>``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import date
from functools import lru_cache

from attnkit.data.examples import Link, Pair
from attnkit.errors import DataError

MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
             "October", "November", "December")
MONTHS_EN_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTHS_ES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
             "octubre", "noviembre", "diciembre")
MONTHS_ES_ABBR = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic")
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAYS_EN_ABBR = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WEEKDAYS_ES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")

# Format name -> template. Placeholders: d/dd day (plain/zero-padded), do English ordinal day, des Spanish
# day, m/mm month number, Month/Mon English name/abbreviation, mes/mesabr Spanish name/abbreviation,
# Y/y four/two-digit year, W/Wa English weekday/abbreviation, dia Spanish weekday.
FORMATS: dict[str, str] = {
    "en_long": "{d} {Month} {Y}",
    "en_long_ordinal": "{do} {Month} {Y}",
    "en_the_of": "the {do} of {Month}, {Y}",
    "en_us_long": "{Month} {d}, {Y}",
    "en_us_ordinal_short": "{Month} {do} {y}",
    "en_weekday_us": "{W}, {Month} {d}, {Y}",
    "en_weekday": "{W} {d} {Month} {Y}",
    "en_abbr_us": "{Mon} {d}, {Y}",
    "en_abbr": "{dd} {Mon} {Y}",
    "en_weekday_abbr_short": "{Wa} {d} {Mon} {y}",
    "en_weekday_abbr_us": "{Wa}, {Mon} {do}, {Y}",
    "en_apostrophe": "{Mon} {d} '{y}",
    "en_dash_abbr": "{d}-{Mon}-{y}",
    "us_slash_short": "{mm}/{dd}/{y}",
    "us_slash": "{m}/{d}/{Y}",
    "dot": "{d}.{m}.{Y}",
    "dot_short": "{dd}.{mm}.{y}",
    "dash": "{dd}-{mm}-{Y}",
    "es_long": "{des} de {mes} de {Y}",
    "es_el": "el {des} de {mes} de {Y}",
    "es_weekday": "{dia}, {des} de {mes} de {Y}",
    "es_abbr": "{d} {mesabr}. {Y}",
    "es_dash_abbr": "{dd}-{mesabr}-{Y}",
}
CASES = ("natural", "title", "lower", "upper")
DEFAULT_SIZES = {"train": 40000, "dev": 1000, "test": 2000}
FIRST_DAY = date(1950, 1, 1)
LAST_DAY = date(2049, 12, 31)

_NAME_ROLES = {"month_name", "weekday", "day_word"}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Target character positions in "YYYY-MM-DD".
_YEAR, _MONTH, _DAY, _DASHES = (0, 1, 2, 3), (5, 6), (8, 9), (4, 7)
_FIELD_ROLES = {"year", "year2", "month", "month_name", "day", "day_word", "suffix"}

Segment = tuple[str, str]  # (text, role)


def english_ordinal(n: int) -> str:
    """``1 -> '1st'``, ``2 -> '2nd'``, ``11 -> '11th'``, ``23 -> '23rd'``."""
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _spanish_day(day: int, rng: random.Random | None) -> list[Segment]:
    if day != 1 or rng is None:
        return [(str(day), "day")]
    return rng.choice([[("1", "day")], [("1", "day"), (".º", "suffix")], [("primero", "day_word")]])


def _render(key: str, d: date, rng: random.Random | None) -> list[Segment]:
    """Segments for one placeholder of a template."""
    m, wd = d.month - 1, d.weekday()
    simple = {
        "d": (str(d.day), "day"), "dd": (f"{d.day:02d}", "day"),
        "m": (str(d.month), "month"), "mm": (f"{d.month:02d}", "month"),
        "Month": (MONTHS_EN[m], "month_name"), "Mon": (MONTHS_EN_ABBR[m], "month_name"),
        "mes": (MONTHS_ES[m], "month_name"), "mesabr": (MONTHS_ES_ABBR[m], "month_name"),
        "Y": (f"{d.year:04d}", "year"), "y": (f"{d.year % 100:02d}", "year2"),
        "W": (WEEKDAYS_EN[wd], "weekday"), "Wa": (WEEKDAYS_EN_ABBR[wd], "weekday"),
        "dia": (WEEKDAYS_ES[wd], "weekday"),
    }
    if key in simple:
        return [simple[key]]
    if key == "do":
        return [(str(d.day), "day"), (english_ordinal(d.day)[len(str(d.day)):], "suffix")]
    if key == "des":
        return _spanish_day(d.day, rng)
    raise KeyError(f"unknown date placeholder {{{key}}}")


def _apply_case(text: str, role: str, case: str) -> str:
    if case == "lower":
        return text.lower()
    if case == "upper":
        return text.upper()
    if case == "title" and role in _NAME_ROLES:
        return text.capitalize()
    return text


def _segments(d: date, template: str, case: str, rng: random.Random | None) -> list[Segment]:
    parts = _PLACEHOLDER.split(template)  # literal, key, literal, key, ..., literal
    segments: list[Segment] = []
    for i, part in enumerate(parts):
        pieces = _render(part, d, rng) if i % 2 else [(part, "literal")]
        segments.extend((_apply_case(text, role, case), role) for text, role in pieces if text)
    return segments


def _number_links(start: int, digits: str, targets: tuple[int, int]) -> tuple[list[Link], list[Link]]:
    """Links of a 1- or 2-digit number to a zero-padded 2-digit target field: (sure, possible-only)."""
    if len(digits) == 2:
        return [(start, targets[0]), (start + 1, targets[1])], []
    return [(start, targets[1])], [(start, targets[0])]


def _segment_links(start: int, text: str, role: str) -> tuple[list[Link], list[Link]]:
    """(sure, possible-only) links of one source segment starting at character ``start``."""
    chars = range(start, start + len(text))
    if role == "year":
        return [(start + i, t) for i, t in enumerate(_YEAR)], []
    if role == "year2":
        return [(start, 2), (start + 1, 3)], [(s, t) for s in chars for t in (0, 1)]
    if role == "month":
        return _number_links(start, text, _MONTH)
    if role == "day":
        return _number_links(start, text, _DAY)
    if role == "month_name":  # many-to-many: no character alone is *the* source of a digit -> possible
        return [], [(s, t) for s in chars for t in _MONTH]
    if role == "day_word":
        return [], [(s, t) for s in chars for t in _DAY]
    if role == "suffix":
        return [], [(s, t) for s in chars for t in _DAY]
    return [], []  # weekday, literal


def format_date(d: date, fmt: str, *, case: str = "natural", rng: random.Random | None = None,
                id: str = "") -> Pair:
    """Write date ``d`` in format ``fmt`` (a key of :data:`FORMATS`) and letter case ``case``.

    ``rng`` picks among equivalent spellings (Spanish day 1); without it the plain number is used.
    Returns the pair with its gold character alignment (see the module docstring).
    """
    if fmt not in FORMATS:
        raise DataError(f"unknown date format {fmt!r}; valid formats: {', '.join(FORMATS)}")
    if case not in CASES:
        raise DataError(f"unknown letter case {case!r}; valid cases: {', '.join(CASES)}")
    src, sure, maybe = "", [], []
    segments = _segments(d, FORMATS[fmt], case, rng)
    fields = [i for i, (_, role) in enumerate(segments) if role in _FIELD_ROLES]
    for i, (text, role) in enumerate(segments):
        s, p = _segment_links(len(src), text, role)
        if role == "literal" and fields and fields[0] < i < fields[-1]:  # a separator between date fields
            p = [(len(src) + k, t) for k in range(len(text)) for t in _DASHES]
        sure += s
        maybe += p
        src += text
    return Pair(src=src, tgt=d.isoformat(), id=id, sure=tuple(sorted(sure)),
                possible=tuple(sorted(set(sure) | set(maybe))))


def _stream(seed: int) -> Iterator[Pair]:
    """An endless deterministic stream of date pairs with pairwise distinct sources."""
    rng = random.Random(seed)
    names = list(FORMATS)
    seen: set[str] = set()
    k = 0
    while True:
        d = date.fromordinal(rng.randint(FIRST_DAY.toordinal(), LAST_DAY.toordinal()))
        fmt, case = rng.choice(names), rng.choice(CASES)
        pair = format_date(d, fmt, case=case, rng=rng, id=f"dates-{k:06d}-{fmt}")
        k += 1
        if pair.src not in seen:
            seen.add(pair.src)
            yield pair


def generate_dates(n: int, seed: int) -> list[Pair]:
    """``n`` date pairs with distinct sources, the same for the same ``(n, seed)``."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    stream = _stream(seed)
    return [next(stream) for _ in range(n)]


@lru_cache(maxsize=4)
def _splits(seed: int, sizes: tuple[tuple[str, int], ...]) -> dict[str, tuple[Pair, ...]]:
    # Test first, then dev, then train: growing the training set never changes the evaluation sets.
    wanted = dict(sizes)
    pairs = generate_dates(wanted["test"] + wanted["dev"] + wanted["train"], seed)
    n_test, n_dev = wanted["test"], wanted["dev"]
    return {"test": tuple(pairs[:n_test]), "dev": tuple(pairs[n_test:n_test + n_dev]),
            "train": tuple(pairs[n_test + n_dev:])}


def load_dates(split: str, *, seed: int = 1234, sizes: dict[str, int] | None = None) -> list[Pair]:
    """One split ("train", "dev" or "test") of the dates corpus.

    ``sizes`` overrides :data:`DEFAULT_SIZES` per split. Splits are deterministic given ``seed`` and
    ``sizes`` and never share a source string.
    """
    if split not in DEFAULT_SIZES:
        raise DataError(f"unknown dates split {split!r}; valid splits: {', '.join(DEFAULT_SIZES)}")
    unknown = set(sizes or {}) - set(DEFAULT_SIZES)
    if unknown:
        raise DataError(f"unknown dates split(s) in sizes: {', '.join(sorted(unknown))}; "
                        f"valid splits: {', '.join(DEFAULT_SIZES)}")
    merged = {**DEFAULT_SIZES, **(sizes or {})}
    if any(v < 0 for v in merged.values()):
        raise DataError(f"dates split sizes must be >= 0, got {merged}")
    return list(_splits(seed, tuple(sorted(merged.items())))[split])
