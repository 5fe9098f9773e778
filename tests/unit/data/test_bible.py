import hashlib
import random
import sys

import pytest

from attnkit.data import bible
from attnkit.data.bible import (
    LengthModel,
    align_verses,
    bible_available,
    clean_osis,
    fix_drop_cap,
    is_shifted,
    load_bible,
    off_diagonal,
    prepare_bible,
    split_of,
    strip_inline_acrostic,
    strip_subscription,
)
from attnkit.data.examples import Pair
from attnkit.errors import DataError

# ----------------------------------------------------------------------------- cleaning


@pytest.mark.parametrize(
    ("osis", "plain"),
    [
        # a footnote between two words must leave a space (pysword's clean=True gives "Godcreated")
        (
            '<w lemma="strong:H0430">God</w><note placement="foot"><reference>1:1 </reference>Elohim</note>'
            '<w lemma="strong:H1254">created</w> the earth.',
            "God created the earth.",
        ),
        # ... but none before punctuation, a closing quote or at the ends
        ('the earth<note placement="foot">Or, land</note>. And', "the earth. And"),
        ("“Come,” he said<note>x</note>”", "“Come,” he said”"),
        ("<note>lead</note>In the beginning<note>tail</note>", "In the beginning"),
        ("it was good.<note>x</note>And God", "it was good. And God"),
        # Strong's tags are inline: a word split over two tags stays one word
        ('shall more be <w lemma="strong:G4369">give</w>n.', "shall more be given."),
        ('darkness <transChange type="added">was</transChange> upon', "darkness was upon"),
        ('the <divineName><w lemma="strong:H3068">LORD</w></divineName> said', "the LORD said"),
        ('<q marker="" who="Jesus">¶ <w>For</w> God so loved</q> ', "For God so loved"),
        ('increased!<l eID="a" level="1"/> <l level="2" sID="b"/>Many are they', "increased! Many are they"),
        ('one<lb type="x-p"/>two', "one two"),
        ("bread &amp; wine", "bread & wine"),
        ("the \\nd <w>LORD</w></divineName> said", "the LORD said"),
        # titles: canonical psalm titles stay, headings and acrostic letters go
        (
            '<title canonical="true" type="psalm">A <w>Psalm</w> of David.</title> <lg sID="x"/>LORD, how',
            "A Psalm of David. LORD, how",
        ),
        ('<title type="section">The Creation</title>In the beginning', "In the beginning"),
        ('<title canonical="true" type="psalm">ALEPH</title> <lg/>Blessed', "Blessed"),
        ('<title canonical="true" type="psalm">SIN AND SHIN</title>Princes', "Princes"),
        ("<title><foreign>ב BETH.</foreign></title> <lg/>Wherewithal", "Wherewithal"),
        # WEB's Song of Solomon speaker labels are editorial
        ('<speaker>Beloved</speaker> <lg sID="a"/>Let him kiss me', "Let him kiss me"),
        # WEB's Rev 22:21 carries the glossary after the book-end marker
        (
            'be with all the saints. Amen. <chapter eID="Rev.22"/> <div canonical="true" eID="g" osisID="Rev" '
            'type="book"/> <div sID="h" type="glossary"/> <title>World English Bible Glossary</title> Abaddon',
            "be with all the saints. Amen.",
        ),
    ],
)
def test_clean_osis(osis, plain):
    assert clean_osis(osis) == plain


@pytest.mark.parametrize(
    ("osis", "plain"),
    [
        # RV1909 glues supplied words to the next/previous <w>: split them, except verb + enclitic pronoun
        ('<w>y díjo</w><transChange type="added">le</transChange><w>Dios</w>: Yo', "y díjole Dios: Yo"),
        ('<w>Beer</w>, <transChange type="added">que es</transChange><w>Ramat</w> al', "Beer, que es Ramat al"),
        ('<w>hay allí</w><transChange type="added">también</transChange><w>bdelio</w>', "hay allí también bdelio"),
        (
            'circuncidó <w>Josué</w><transChange type="added">los</transChange> <w>hijos</w>',
            "circuncidó Josué los hijos",
        ),
        ('<w>no</w><transChange type="added">lo</transChange> <w>sabía</w>', "no lo sabía"),
        ('<w>Dad</w><transChange type="added">me</transChange> agua', "Dadme agua"),
        (
            '<w>Estas</w><transChange type="added"><w>son las medidas</w> <w>de que</w></transChange><w>Salomón</w>',
            "Estas son las medidas de que Salomón",
        ),
    ],
)
def test_clean_osis_supplied_words(osis, plain):
    assert clean_osis(osis) == plain


def test_clean_osis_never_leaves_markup():
    text = clean_osis('<div sID="x" type="x-p"/><w lemma="a">a</w>  <milestone type="x"/> b\n\t c <chapter eID="a"/>')
    assert text == "a b c"


def test_rv_specific_fixes():
    assert strip_inline_acrostic("ALEPH. BIENAVENTURADOS los perfectos") == "BIENAVENTURADOS los perfectos"
    assert strip_inline_acrostic("BETH ¿Con qué limpiará") == "¿Con qué limpiará"
    assert strip_inline_acrostic("EN el principio") == "EN el principio"  # not a Hebrew letter
    assert fix_drop_cap("EN el principio crió Dios") == "En el principio crió Dios"
    assert fix_drop_cap("LA SEGUNDA suerte salió") == "La segunda suerte salió"
    assert fix_drop_cap("Salmo de David. ¡OH Jehová, cuánto") == "Salmo de David. ¡Oh Jehová, cuánto"
    assert fix_drop_cap("Y ESCRIBE al ángel en SARDIS") == "Y escribe al ángel en SARDIS"
    assert fix_drop_cap("sin mayúsculas") == "sin mayúsculas"
    assert strip_subscription("sea con vosotros. Amén. Escrita de Roma á los Efesios por Tichîco.") == (
        "sea con vosotros. Amén."
    )
    assert strip_subscription("Amén. Y dijo otra cosa.") == "Amén. Y dijo otra cosa."


# ----------------------------------------------------------------------------- splits


def test_split_is_a_stable_hash_of_the_id():
    for verse in ("Gen.1.1", "John.3.16", "Rev.22.21", "1Sam.24.1"):
        bucket = int(hashlib.sha256(verse.encode()).hexdigest()[:16], 16) % 10_000
        expected = "test" if bucket < 350 else "dev" if bucket < 680 else "train"
        assert split_of(verse) == expected


def test_split_proportions_and_partition():
    ids = [f"B{b}.{c}.{v}" for b in range(40) for c in range(1, 31) for v in range(1, 27)]  # 31,200 ids
    splits = [split_of(verse) for verse in ids]
    assert set(splits) == {"train", "dev", "test"}
    assert 0.030 < splits.count("test") / len(ids) < 0.040
    assert 0.028 < splits.count("dev") / len(ids) < 0.038
    assert splits == [split_of(verse) for verse in ids]  # deterministic


# ----------------------------------------------------------------------------- misalignment


def _chapter(rng: random.Random, n: int = 30) -> tuple[list[int], list[int]]:
    src = [rng.randint(40, 250) for _ in range(n)]
    tgt = [max(5, round(s * 0.92 + rng.gauss(0, 0.08 * s))) for s in src]
    return src, tgt


MODEL = LengthModel(ratio=0.92, variance=1.6)


def test_aligned_chapter_is_left_alone():
    rng = random.Random(0)
    for _ in range(20):
        src, tgt = _chapter(rng)
        assert not is_shifted(src, tgt)
        assert off_diagonal(src, tgt, MODEL) == set()


def test_whole_chapter_shift_is_detected():
    rng = random.Random(1)
    src, tgt = _chapter(rng)
    shifted = [*tgt[1:], 0]  # target verse i holds source verse i+1 (Spanish numbering)
    assert is_shifted(src, shifted)
    assert len(off_diagonal(src, [max(v, 1) for v in shifted], MODEL)) > 10


def test_local_merge_is_detected():
    rng = random.Random(2)
    src, tgt = _chapter(rng)
    src[10:12] = [120, 120]
    tgt[10:12] = [120 * 0.92 * 2, 12]  # verses 10-11 merged into 10, 11 nearly empty
    bad = off_diagonal(src, tgt, MODEL)
    assert 10 in bad
    assert bad <= set(range(8, 14))


def test_length_model_fit():
    model = LengthModel.fit([100, 200, 300], [90, 180, 270])
    assert model.ratio == pytest.approx(0.9)


def _texts(chapters: int = 3, verses: int = 25, seed: int = 0) -> dict:
    rng = random.Random(seed)
    texts: dict = {t: {} for t in ("kjv", "web", "rv")}
    for c in range(1, chapters + 1):
        for v in range(1, verses + 1):
            words = rng.randint(8, 45)
            for t, scale in (("kjv", 1.0), ("web", 0.95), ("rv", 0.9)):
                texts[t][("Gen", c, v)] = " ".join(["palabra"] * max(1, round(words * scale)))
    return texts


def test_align_verses_empty_verse_rule():
    texts = _texts()
    assert align_verses(texts)[1]["kept"] == 75
    texts["rv"][("Gen", 1, 25)] = ""  # Spanish numbering: chapter 1 and the next one are dropped
    texts["web"][("Gen", 3, 4)] = ""  # a textual omission in WEB: only that verse goes
    kept, stats = align_verses(texts)
    assert stats["empty_rule_chapters"] == 2 and stats["web_missing_verses"] == 1
    assert kept == [("Gen", 3, v) for v in range(1, 26) if v != 4]


# ----------------------------------------------------------------------------- cache and API


def test_missing_modules_error_names_the_packages(tmp_path, monkeypatch):
    monkeypatch.delenv("ATTNKIT_SWORD_DIR", raising=False)
    assert not bible_available(tmp_path)
    with pytest.raises(DataError, match="apt-get install -y sword-text-kjv sword-text-web sword-text-sparv"):
        prepare_bible(tmp_path / "cache", sword_dir=tmp_path, progress=False)
    monkeypatch.setenv("ATTNKIT_SWORD_DIR", str(tmp_path))
    assert not bible_available()


def test_missing_pysword_error_names_the_pip_package(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pysword.modules", None)
    assert not bible_available()
    with pytest.raises(DataError, match="pip install pysword"):  # an empty cache dir: a cached corpus needs no pysword
        prepare_bible(tmp_path / "cache", progress=False)


@pytest.fixture
def fake_cache(tmp_path, monkeypatch):
    texts = _texts(chapters=8, verses=30)
    for t in texts:
        for ref in texts[t]:
            texts[t][ref] = f"{t} {ref[1]}:{ref[2]} " + texts[t][ref]
    monkeypatch.setattr(bible, "_require_sword_dir", lambda sword_dir: tmp_path)
    monkeypatch.setattr(bible, "read_translations", lambda library: texts)
    return tmp_path / "cache"


def test_prepare_and_load_without_sword(fake_cache):
    path = prepare_bible(fake_cache, progress=False)
    assert path.parent == fake_cache and path.read_text().startswith("id\tsplit\tkjv\tweb\trv\n")
    assert not list(fake_cache.glob("*.tmp"))
    pairs = load_bible("all", cache_dir=fake_cache)
    assert len(pairs) == 240 and isinstance(pairs[0], Pair)
    assert pairs[0] == Pair(src=pairs[0].src, tgt=pairs[0].tgt, id="Gen.1.1")
    assert pairs[0].src.startswith("rv 1:1") and pairs[0].tgt.startswith("kjv 1:1")
    assert load_bible("all", src="en", tgt="es", english="web", cache_dir=fake_cache)[0].src.startswith("web 1:1")
    en_en = load_bible("all", src="en", tgt="en", cache_dir=fake_cache)[0]
    assert en_en.src.startswith("kjv") and en_en.tgt.startswith("web")
    parts = {s: {p.id for p in load_bible(s, cache_dir=fake_cache)} for s in ("train", "dev", "test")}
    assert sum(map(len, parts.values())) == 240
    assert not (parts["train"] & parts["test"]) and not (parts["dev"] & parts["test"])
    assert all(split_of(i) == s for s, ids in parts.items() for i in ids)


def test_cache_is_reused_unless_forced(fake_cache, monkeypatch):
    path = prepare_bible(fake_cache, progress=False)
    path.write_text(path.read_text().replace("kjv 1:1", "cached 1:1"))
    assert prepare_bible(fake_cache, progress=False) == path
    assert load_bible("all", cache_dir=fake_cache)[0].tgt.startswith("cached")
    prepare_bible(fake_cache, force=True, progress=False)
    assert load_bible("all", cache_dir=fake_cache)[0].tgt.startswith("kjv")


def test_bad_arguments_and_bad_cache(fake_cache):
    with pytest.raises(ValueError, match="split"):
        load_bible("validation", cache_dir=fake_cache)
    with pytest.raises(ValueError, match="direction"):
        load_bible("test", src="es", tgt="es", cache_dir=fake_cache)
    with pytest.raises(ValueError, match="english"):
        load_bible("test", english="niv", cache_dir=fake_cache)
    path = prepare_bible(fake_cache, progress=False)
    path.write_text("something else\n")
    with pytest.raises(DataError, match="not a bible cache"):
        load_bible("test", cache_dir=fake_cache)


# ----------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def real_cache(tmp_path_factory):
    return prepare_bible(tmp_path_factory.mktemp("bible"), progress=False).parent


needs_sword = pytest.mark.skipif(not bible_available(), reason="SWORD modules or pysword not installed")


@needs_sword
def test_real_genesis_1_1(real_cache):
    gen = {p.id: p for p in load_bible("all", cache_dir=real_cache)}["Gen.1.1"]
    assert gen.tgt == "In the beginning God created the heaven and the earth."
    assert gen.src == "En el principio crió Dios los cielos y la tierra."
    web = {p.id: p for p in load_bible("all", english="web", cache_dir=real_cache)}["Gen.1.1"]
    assert web.tgt == "In the beginning, God created the heavens and the earth."


@needs_sword
def test_real_corpus_facts(real_cache):
    rows = {p.id: p for p in load_bible("all", src="en", tgt="en", english="web", cache_dir=real_cache)}
    assert 30_000 <= len(rows) <= 30_600
    assert rows["Rev.22.21"].src == "The grace of the Lord Jesus Christ be with all the saints. Amen."
    assert rows["Ps.3.1"].tgt.startswith("A Psalm of David, when he fled from Absalom his son. LORD,")
    assert rows["Ps.119.1"].src.startswith("Blessed are those")
    assert not any("<" in p.src + p.tgt or "  " in p.src + p.tgt for p in rows.values())
    for chapter in ("Num.13.", "1Sam.24.", "Jonah.2.", "Judg.14.19"):  # known Spanish-numbering shifts
        assert not any(i.startswith(chapter) for i in rows)
    es = {p.id: p.src for p in load_bible("all", cache_dir=real_cache)}
    assert es["Ps.119.1"].startswith("Bienaventurados los perfectos")
    last_verses = [i for i in ("Rom.16.27", "Gal.6.18", "Eph.6.24", "Col.4.18", "Heb.13.25") if i in es]
    assert len(last_verses) >= 3 and all(es[i].endswith("Amén.") for i in last_verses)


@needs_sword
def test_real_split_sizes(real_cache):
    sizes = {s: len(load_bible(s, cache_dir=real_cache)) for s in ("train", "dev", "test")}
    assert sizes["test"] >= 1_000
    assert 900 <= sizes["dev"] <= 1_200
    assert sizes["train"] > 27_000
