import numpy as np
import pytest

from attnkit.data.captions import (
    EMOJI_FONT,
    TUXPAINT_ROOT,
    UNICODE_DIR,
    CaptionedImage,
    fit_image,
    load_emoji,
    load_tuxpaint,
    split_captioned,
)
from attnkit.errors import DataError

Image = pytest.importorskip("PIL.Image")
HAVE_FONT = EMOJI_FONT.is_file()
HAVE_NAMES = (UNICODE_DIR / "emoji" / "emoji-test.txt").is_file()


def test_fit_image_keeps_aspect_and_pads_white():
    tall = Image.new("RGBA", (10, 40), (255, 0, 0, 255))
    out = fit_image(tall, 64)
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8
    assert (out[:, :20] == 255).all() and (out[:, -20:] == 255).all()  # 64 * 10 / 40 = 16 px of red, centred
    assert (out[5:60, 26:38] == [255, 0, 0]).all()
    clear = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    assert (fit_image(clear, 16) == 255).all()  # transparency becomes white, not black


def _stamp(folder, name, caption, picture="png"):
    folder.mkdir(parents=True, exist_ok=True)
    if caption is not None:
        (folder / f"{name}.txt").write_text(caption, encoding="utf-8")
    if picture == "png":
        Image.new("RGBA", (30, 20), (0, 128, 0, 255)).save(folder / f"{name}.png")
    elif picture == "svg":
        (folder / f"{name}.svg").write_text("<svg/>")


def test_tuxpaint_reader(tmp_path):
    _stamp(tmp_path / "animals" / "frogs", "frog", "A frog.\nes.utf8=Una rana.\n")
    _stamp(tmp_path / "animals" / "frogs", "frog2", "A frog.\n")
    _stamp(tmp_path / "shapes", "star", "A star.\n", picture="svg")  # SVG only: skipped
    _stamp(tmp_path / "shapes", "blank", "\nes.utf8=Nada.\n")  # no English caption: skipped
    _stamp(tmp_path / "shapes", "spanish", "es.utf8=Solo español.\n")  # translations only: skipped
    _stamp(tmp_path / "shapes", "lonely", None)  # picture without caption: skipped
    items = load_tuxpaint(tmp_path, size=32)
    assert [(i.id, i.caption, i.category) for i in items] == [
        ("animals/frogs/frog.png", "A frog.", "animals/frogs"), ("animals/frogs/frog2.png", "A frog.", "animals/frogs")]
    assert items[0].image.shape == (32, 32, 3) and (items[0].image[16, 16] == [0, 128, 0]).all()
    assert items[0].group == items[1].group  # one caption, one split
    assert len(load_tuxpaint(tmp_path, limit=1)) == 1


def test_tuxpaint_missing_names_the_package(tmp_path):
    with pytest.raises(DataError, match="tuxpaint-stamps-default"):
        load_tuxpaint(tmp_path / "nowhere")


@pytest.mark.skipif(not TUXPAINT_ROOT.is_dir(), reason="tuxpaint-stamps-default is not installed")
def test_real_tuxpaint():
    items = load_tuxpaint(limit=15)
    assert len(items) == 15 and all(i.image.shape == (64, 64, 3) for i in items)
    assert all(i.caption and "utf8=" not in i.caption for i in items)
    assert all((TUXPAINT_ROOT / i.id).is_file() for i in items)


_EMOJI_TEST = """\
# group: Smileys & Emotion
1F600                                      ; fully-qualified     # 😀 E1.0 grinning face
263A FE0F                                  ; fully-qualified     # ☺️ E0.6 smiling face
263A                                       ; unqualified         # ☺ E0.6 smiling face
# group: People & Body
1F44B                                      ; fully-qualified     # 👋 E0.6 waving hand
1F44B 1F3FD                                ; fully-qualified     # 👋🏽 E1.0 waving hand: medium skin tone
"""


@pytest.mark.skipif(not HAVE_FONT, reason="fonts-noto-color-emoji is not installed")
def test_emoji_from_a_names_file(tmp_path):
    (tmp_path / "emoji").mkdir()
    (tmp_path / "emoji" / "emoji-test.txt").write_text(_EMOJI_TEST, encoding="utf-8")
    items = load_emoji(size=32, unicode_dir=tmp_path)
    assert [i.caption for i in items][:3] == ["grinning face", "smiling face", "waving hand"]
    assert items[0].id == "1F600" and items[0].category == "Smileys & Emotion"
    assert all(i.image.shape == (32, 32, 3) and (i.image < 200).any() for i in items)  # something drawn
    if len(items) == 4:  # the skin-tone variant needs Pillow's raqm layout
        assert items[3].caption == "waving hand: medium skin tone" and items[3].group == items[2].group
        assert not np.array_equal(items[3].image, items[2].image)


@pytest.mark.skipif(not HAVE_FONT, reason="fonts-noto-color-emoji is not installed")
def test_emoji_without_names_names_the_package(tmp_path):
    with pytest.raises(DataError, match="unicode-data"):
        load_emoji(unicode_dir=tmp_path)


def test_emoji_without_font_names_the_package(tmp_path):
    with pytest.raises(DataError, match="fonts-noto-color-emoji"):
        load_emoji(font=tmp_path / "missing.ttf")


@pytest.mark.skipif(not (HAVE_FONT and HAVE_NAMES), reason="fonts-noto-color-emoji or unicode-data is missing")
def test_real_emoji():
    items = load_emoji(limit=40)
    assert len(items) == 40 and items[0].caption == "grinning face"
    assert all(i.caption == i.caption.lower() for i in items)
    assert len({i.image.tobytes() for i in items}) == 40


def _item(id: str, group: str = "") -> CaptionedImage:
    return CaptionedImage(np.zeros((1, 1, 3), np.uint8), f"caption {id}", id, group=group)


def test_split_captioned_is_fixed_disjoint_and_grouped():
    items = [_item(f"x{i}", group=f"g{i // 3}") for i in range(3000)]
    split = split_captioned(items)
    ids = {name: {i.id for i in part} for name, part in split.items()}
    assert sum(len(v) for v in ids.values()) == 3000 and set().union(*ids.values()) == {i.id for i in items}
    assert 0.07 < len(ids["test"]) / 3000 < 0.13 and 0.07 < len(ids["dev"]) / 3000 < 0.13
    for part in split.values():  # every group stays whole
        groups = {i.group for i in part}
        assert sum(1 for i in items if i.group in groups) == len(part)
    fewer = split_captioned(items[:900])
    assert {i.id for i in fewer["test"]} == {i.id for i in split["test"] if int(i.id[1:]) < 900}


def test_split_fractions_are_checked():
    with pytest.raises(ValueError, match="fractions"):
        split_captioned([], dev=0.6, test=0.6)
