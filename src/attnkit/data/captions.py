"""Small sets of real pictures with real captions, read offline from Debian packages.

No photo-captioning corpus exists offline; these two are drawings with human-written descriptions:

- ``tuxpaint``: the stamps of Tux Paint (package ``tuxpaint-stamps-default``), clip-art pictures with a
  ``.txt`` file whose first line is an English caption (``A great blue heron.``; the other lines are
  translations, ``es.utf8=...``). Stamps drawn only as SVG are skipped (Pillow cannot rasterise SVG),
  which leaves the PNG stamps: 785 of the 952 captions in version 2022.06.04 (165 stamps are SVG only,
  2 captions have no picture).
- ``emoji``: the glyphs of Noto Color Emoji (package ``fonts-noto-color-emoji``) captioned with their
  lower-cased CLDR names from ``emoji-test.txt`` (package ``unicode-data``): ``grinning face``,
  ``woman technologist: medium skin tone``, ``flag: japan``. All fully-qualified emoji, sequences
  included, when Pillow has its complex-text layout (libraqm) to form ligatures, else only single code
  points. When several emoji render to the same picture only the one with the shortest name is kept
  (14 of 3,655 in Noto 2.042: ``flag: spain`` is also Ceuta & Melilla's, ``flag: norway`` Bouvet
  Island's and Svalbard's, and ``snowboarder`` has no skin tones), which leaves 3,641. Without
  ``emoji-test.txt`` the names come from ``UnicodeData.txt`` (single code points in the symbol and emoji
  blocks that the font draws: 1,358).

Pictures are RGB over a white background, scaled to fit ``size x size`` with the aspect ratio kept and
white padding. :func:`split_captioned` assigns each item to train/dev/test by a hash of its ``group``
(items of one group, such as one emoji in several skin tones, or stamps with one caption, never straddle
two splits).
"""
# S picture side in pixels (size)

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from attnkit.errors import DataError

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

__all__ = [
    "EMOJI_FONT",
    "TUXPAINT_ROOT",
    "UNICODE_DIR",
    "CaptionedImage",
    "fit_image",
    "load_emoji",
    "load_tuxpaint",
    "split_captioned",
]

TUXPAINT_ROOT = Path("/usr/share/tuxpaint/stamps")
EMOJI_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
UNICODE_DIR = Path("/usr/share/unicode")
EMOJI_PIXELS = 109  # the only size of Noto Color Emoji's bitmap strikes
_TRANSLATION = re.compile(r"^[A-Za-z_@]+\.utf-?8\s*=", re.IGNORECASE)  # "es.utf8=...", "sr@latin.utf8=..."
_SKIN_TONES = {0x1F3FB, 0x1F3FC, 0x1F3FD, 0x1F3FE, 0x1F3FF}
_VARIATION_SELECTOR = 0xFE0F
# Where UnicodeData.txt's fallback looks for emoji: Misc Symbols, Dingbats, and the emoji planes' blocks.
_EMOJI_RANGES = ((0x2600, 0x27BF), (0x1F000, 0x1FAFF))


@dataclass(frozen=True)
class CaptionedImage:
    """A picture and its caption. ``id`` names it in its corpus (a stamp's path, an emoji's code points);
    ``category`` is the stamp's folder or the emoji's group; ``group`` decides its split."""

    image: np.ndarray  # uint8 [S, S, 3]
    caption: str
    id: str
    category: str = ""
    group: str = ""


def _pil():
    try:
        from PIL import Image, ImageDraw, ImageFont, features
    except ImportError as err:  # pragma: no cover - Pillow comes with matplotlib
        raise DataError("the picture corpora need Pillow: pip install pillow") from err
    return Image, ImageDraw, ImageFont, features


def fit_image(picture: PILImage, size: int) -> np.ndarray:
    """A PIL image laid over white, scaled (aspect kept) and padded to ``uint8 [size, size, 3]``."""
    Image = _pil()[0]
    rgba = picture.convert("RGBA")
    flat = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    scale = size / max(flat.size)
    w, h = max(1, round(flat.width * scale)), max(1, round(flat.height * scale))
    canvas = Image.new("RGB", (size, size), (255, 255, 255))
    canvas.paste(flat.resize((w, h), Image.LANCZOS), ((size - w) // 2, (size - h) // 2))
    return np.asarray(canvas, dtype=np.uint8).copy()


def _first_line(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err}); reinstall tuxpaint-stamps-default") from err
    caption = lines[0].strip().lstrip("\ufeff") if lines else ""
    return "" if _TRANSLATION.match(caption) else caption


def load_tuxpaint(root: str | Path = TUXPAINT_ROOT, size: int = 64, *,
                  limit: int | None = None) -> list[CaptionedImage]:
    """The PNG stamps under ``root`` that have an English caption, sorted by path (at most ``limit``).

    ``id`` is the PNG's path relative to ``root``, ``category`` its folder, ``group`` the lower-cased
    caption (stamps with one caption, often variants of one drawing, share a split).
    """
    Image = _pil()[0]
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: Tux Paint stamps not found; install the Debian package tuxpaint-stamps-default "
                        "(apt-get install tuxpaint-stamps-default) or pass root= a folder of stamps")
    items = []
    for txt in sorted(root.rglob("*.txt")):
        png = txt.with_suffix(".png")
        caption = _first_line(txt) if png.is_file() else ""
        if not caption:
            continue
        try:
            with Image.open(png) as picture:
                image = fit_image(picture, size)
        except OSError as err:
            raise DataError(f"{png}: unreadable picture ({err}); reinstall tuxpaint-stamps-default") from err
        rel = png.relative_to(root)
        items.append(CaptionedImage(image, caption, rel.as_posix(), rel.parent.as_posix(), caption.lower()))
        if limit is not None and len(items) >= limit:
            break
    return items


def _emoji_test(path: Path, sequences: bool) -> Iterator[tuple[list[int], str, str]]:
    """(code points, name, group) of the fully-qualified emoji of ``emoji-test.txt``."""
    group = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# group:"):
            group = line.split(":", 1)[1].strip()
        if line.startswith("#") or ";" not in line or "#" not in line:
            continue
        points, rest = line.split(";", 1)
        status, comment = rest.split("#", 1)
        codes = [int(c, 16) for c in points.split()]
        if status.strip() != "fully-qualified":
            continue
        if not sequences and len([c for c in codes if c != _VARIATION_SELECTOR]) != 1:
            continue
        # comment: "<emoji> E<version> <name>"
        name = comment.strip().split(" ", 2)[2] if len(comment.split()) >= 3 else ""
        yield codes, name.lower(), group


def _unicode_data(path: Path) -> Iterator[tuple[list[int], str, str]]:
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split(";")
        if len(fields) < 2 or fields[1].startswith("<"):
            continue
        code = int(fields[0], 16)
        if any(lo <= code <= hi for lo, hi in _EMOJI_RANGES):
            yield [code], fields[1].lower(), ""


def _emoji_names(unicode_dir: Path, sequences: bool) -> Iterator[tuple[list[int], str, str]]:
    test, data = unicode_dir / "emoji" / "emoji-test.txt", unicode_dir / "UnicodeData.txt"
    if test.is_file():
        return _emoji_test(test, sequences)
    if data.is_file():
        return _unicode_data(data)
    raise DataError(f"{test} and {data} not found: emoji names come from the Debian package unicode-data "
                    "(apt-get install unicode-data) or pass unicode_dir= a folder holding one of them")


def _group(codes: list[int]) -> str:
    """Code points without skin tones and variation selectors: one group per emoji across its skin tones."""
    return "-".join(f"{c:04X}" for c in codes if c not in _SKIN_TONES and c != _VARIATION_SELECTOR)


def load_emoji(size: int = 64, *, font: str | Path = EMOJI_FONT, unicode_dir: str | Path = UNICODE_DIR,
               limit: int | None = None) -> list[CaptionedImage]:
    """Emoji rendered from Noto Color Emoji at 109 px and fitted to ``size``, captioned with their names.

    ``id`` is the code points in hex (``1F469-200D-1F4BB``), ``category`` the emoji group
    (``Smileys & Emotion``), ``group`` the code points without skin-tone modifiers. At most ``limit`` items.
    """
    Image, ImageDraw, ImageFont, features = _pil()
    font = Path(font)
    if not font.is_file():
        raise DataError(f"{font}: emoji font not found; install the Debian package fonts-noto-color-emoji "
                        "(apt-get install fonts-noto-color-emoji) or pass font= a color emoji font")
    face = ImageFont.truetype(str(font), EMOJI_PIXELS)
    sequences = bool(features.check("raqm"))  # ZWJ sequences and flags are ligatures: they need raqm
    items: list[CaptionedImage] = []
    seen: dict[bytes, int] = {}  # glyph digest -> position in items
    for codes, name, group in _emoji_names(Path(unicode_dir), sequences):
        text = "".join(map(chr, codes))
        left, top, right, bottom = face.getbbox(text)
        if right <= left or bottom <= top:
            continue
        glyph = Image.new("RGBA", (right - left, bottom - top), (255, 255, 255, 0))
        ImageDraw.Draw(glyph).text((-left, -top), text, font=face, embedded_color=True)
        if glyph.getextrema()[3][1] == 0:  # the font has nothing for it
            continue
        item = CaptionedImage(fit_image(glyph, size), name, "-".join(f"{c:04X}" for c in codes), group,
                              _group(codes))
        digest = hashlib.sha256(glyph.tobytes()).digest()
        if digest in seen:  # one picture, two names: keep the shorter ("flag: spain", not "ceuta & melilla")
            j = seen[digest]
            if len(name) < len(items[j].caption):
                items[j] = item
            continue
        seen[digest] = len(items)
        items.append(item)
        if limit is not None and len(items) >= limit:
            break
    return items


def split_captioned(items: Iterable[CaptionedImage], dev: float = 0.1,
                    test: float = 0.1) -> dict[str, list[CaptionedImage]]:
    """A fixed train/dev/test split by a hash of each item's ``group`` (its ``id`` when it has none).

    The split of an item depends only on its group and the two fractions, so adding items never moves
    others. Fractions are expected, not exact: small corpora come out a little uneven.
    """
    if dev < 0 or test < 0 or dev + test > 1:
        raise ValueError(f"dev and test must be fractions summing to at most 1, got {dev} and {test}")
    out: dict[str, list[CaptionedImage]] = {"train": [], "dev": [], "test": []}
    for item in items:
        digest = hashlib.sha256((item.group or item.id).encode("utf-8")).digest()
        u = int.from_bytes(digest[:8], "big") / 2**64
        out["test" if u < test else "dev" if u < test + dev else "train"].append(item)
    return out
