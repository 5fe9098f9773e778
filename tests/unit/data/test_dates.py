import calendar
import random
import re
from datetime import date

import pytest

from attnkit.data.dates import CASES, FORMATS, english_ordinal, format_date, generate_dates, load_dates
from attnkit.errors import DataError

# Independent of the module's tables: English names from the calendar module (C locale), Spanish typed here.
_ES_MONTHS = "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre".split()
_ES_ABBR = "ene feb mar abr may jun jul ago sept oct nov dic".split()
_ES_WEEKDAYS = "lunes martes miércoles jueves viernes sábado domingo".split()
MONTH_WORDS = {w.lower(): i for names in (calendar.month_name[1:], calendar.month_abbr[1:], _ES_MONTHS, _ES_ABBR)
               for i, w in enumerate(names, start=1)}
WEEKDAY_WORDS = {w.lower(): i for names in (calendar.day_name, calendar.day_abbr, _ES_WEEKDAYS)
                 for i, w in enumerate(names)}
SPECIAL_DAYS = [date(1950, 1, 1), date(2049, 12, 31), date(1999, 12, 1), date(2000, 2, 29),
                date(1998, 3, 3), date(2021, 11, 22), date(1963, 7, 13)]


def _year(text: str) -> int:
    if len(text) == 4:
        return int(text)
    return int(text) + (1900 if int(text) >= 50 else 2000)


def parse(src: str) -> date:
    """Test-only reader of every documented convention; checks weekdays against the calendar."""
    s = src.lower()
    if m := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})", s):
        return date(_year(m[3]), int(m[1]), int(m[2]))
    if m := re.fullmatch(r"(\d{1,2})([.-])(\d{1,2})\2(\d{2}|\d{4})", s):
        return date(_year(m[4]), int(m[3]), int(m[1]))
    words = re.findall(r"[^\W\d_]+", s)
    numbers = re.findall(r"\d+", s)
    months = [MONTH_WORDS[w] for w in words if w in MONTH_WORDS]
    assert len(months) == 1, src
    day = 1 if "primero" in words else int(numbers[0])
    parsed = date(_year(numbers[-1]), months[0], day)
    for w in words:
        if w in WEEKDAY_WORDS:
            assert WEEKDAY_WORDS[w] == parsed.weekday(), f"wrong weekday in {src!r}"
    return parsed


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_round_trips_in_every_case(fmt):
    rng = random.Random(0)
    for d in SPECIAL_DAYS:
        for case in CASES:
            pair = format_date(d, fmt, case=case, rng=rng)
            assert pair.tgt == d.isoformat()
            assert parse(pair.src) == d, pair.src


def test_known_examples():
    d = date(1998, 3, 3)
    assert format_date(d, "en_weekday_us").src == "Tuesday, March 3, 1998"
    assert format_date(d, "es_weekday").src == "martes, 3 de marzo de 1998"
    assert format_date(d, "en_us_ordinal_short", case="lower").src == "march 3rd 98"
    assert format_date(d, "us_slash_short").src == "03/03/98"
    assert format_date(date(1998, 4, 3), "dot_short").src == "03.04.98"
    assert format_date(date(1998, 4, 3), "us_slash").src == "4/3/1998"
    assert format_date(d, "es_abbr", case="upper").src == "3 MAR. 1998"


def test_english_ordinals():
    assert [english_ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "31st"]


def test_generated_pairs_parse_and_weekdays_are_true():
    for pair in generate_dates(1500, seed=3):
        assert parse(pair.src).isoformat() == pair.tgt


def test_spanish_day_one_variants_appear():
    rng = random.Random(1)
    sources = {format_date(date(2001, 5, 1), "es_long", rng=rng).src for _ in range(60)}
    assert sources == {"1 de mayo de 2001", "1.º de mayo de 2001", "primero de mayo de 2001"}


def _check_alignment(pair):
    src, tgt = pair.src, pair.tgt
    sure, possible = set(pair.sure), set(pair.possible)
    assert sure <= possible
    assert all(0 <= s < len(src) and 0 <= t < len(tgt) for s, t in possible)
    linked = {t for _, t in possible}
    assert linked == {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
    for s, t in possible:
        if t in (4, 7):  # '-' comes from the separators between fields, possible only
            assert (s, t) not in sure and not src[s].isdigit()  # "/", ".", ", ", " de ", " of "
    for s, t in possible:
        if t < 4:  # year digits come from year digits
            assert src[s].isdigit()
    for s, t in sure:
        if t in (2, 3):  # the last two year digits are copied
            assert src[s] == tgt[t]
    d = date.fromisoformat(tgt)
    for positions, value in (((5, 6), d.month), ((8, 9), d.day)):
        chars = "".join(src[s] for s in sorted({s for s, t in sure if t in positions}))
        if not chars:  # a month name or "primero": possible links only, from its letters
            chars = "".join(src[s] for s in sorted({s for s, t in possible if t in positions}) if src[s].isalpha())
        if chars.isdigit():
            assert int(chars) == value
        elif positions == (5, 6):
            assert MONTH_WORDS[chars.lower()] == value
        else:
            assert chars.lower() == "primero" and value == 1


def test_alignment_points_at_the_right_characters():
    pairs = generate_dates(1500, seed=5)
    pairs += [format_date(d, f, rng=random.Random(2)) for d in SPECIAL_DAYS for f in FORMATS]
    for pair in pairs:
        _check_alignment(pair)


def test_two_digit_year_and_padding_links():
    pair = format_date(date(1998, 3, 3), "en_us_ordinal_short")  # "March 3rd 98"
    year_start = pair.src.index("98")
    assert (year_start, 2) in pair.sure and (year_start + 1, 3) in pair.sure
    assert (year_start, 0) in pair.possible and (year_start, 0) not in pair.sure
    day = pair.src.index("3")
    assert (day, 9) in pair.sure and (day, 8) in set(pair.possible) - set(pair.sure)
    suffix = pair.src.index("rd")
    assert (suffix, 9) in set(pair.possible) - set(pair.sure)


def test_generation_is_deterministic_and_seeded():
    assert generate_dates(200, seed=7) == generate_dates(200, seed=7)
    assert generate_dates(200, seed=7) != generate_dates(200, seed=8)
    assert len({p.src for p in generate_dates(500, seed=7)}) == 500


def test_every_format_and_case_appears():
    pairs = generate_dates(2000, seed=11)
    assert {p.id.split("-", 2)[2] for p in pairs} == set(FORMATS)
    assert any(p.src.isupper() for p in pairs) and any(p.src.islower() for p in pairs)
    years = [int(p.tgt[:4]) for p in pairs]
    assert min(years) >= 1950 and max(years) <= 2049


def test_splits_are_disjoint_deterministic_and_stable():
    sizes = {"train": 600, "dev": 100, "test": 150}
    splits = {name: load_dates(name, seed=5, sizes=sizes) for name in sizes}
    assert {name: len(p) for name, p in splits.items()} == sizes
    sources = {name: {p.src for p in pairs} for name, pairs in splits.items()}
    assert not sources["train"] & sources["dev"]
    assert not sources["train"] & sources["test"]
    assert not sources["dev"] & sources["test"]
    assert load_dates("test", seed=5, sizes=sizes) == splits["test"]
    assert load_dates("test", seed=5, sizes={**sizes, "train": 50}) == splits["test"]
    assert load_dates("test", seed=6, sizes=sizes) != splits["test"]


def test_unknown_split_names_the_valid_ones():
    with pytest.raises(DataError, match="train, dev, test"):
        load_dates("validation")
    with pytest.raises(DataError, match="valid splits"):
        load_dates("train", sizes={"valid": 3})


def test_unknown_format_is_an_error():
    with pytest.raises(DataError, match="en_long"):
        format_date(date(2000, 1, 1), "klingon")
