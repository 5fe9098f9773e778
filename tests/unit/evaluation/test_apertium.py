import pytest

from attnkit.errors import DataError
from attnkit.evaluation import apertium
from attnkit.evaluation.apertium import apertium_available, apertium_translate

needs_apertium = pytest.mark.skipif(not apertium_available("spa-eng"), reason="apertium spa-eng not installed")


@needs_apertium
def test_translates_and_keeps_one_line_per_input():
    out = apertium_translate(["Hola mundo.", "", "la casa\nblanca", "  y   dijo  "])
    assert len(out) == 4
    assert out[0] == "Hello World."
    assert out[1] == ""
    assert out[2] == "The white house"  # the embedded newline is not a boundary
    assert "said" in out[3]


@needs_apertium
def test_many_lines_without_final_punctuation_keep_their_count():
    lines = [f"el perro {k} es blanco" if k % 3 else "y dijo Dios:" for k in range(300)]
    out = apertium_translate(lines)
    assert len(out) == len(lines)
    assert all(o for o in out)
    assert all("dog" in o for o, k in zip(out, range(300), strict=True) if k % 3)


def test_empty_input_needs_no_apertium(monkeypatch):
    monkeypatch.setattr(apertium.shutil, "which", lambda name: None)
    assert apertium_translate([]) == []
    assert apertium_translate(["", "  "]) == ["", ""]


def test_missing_apertium_names_the_packages(monkeypatch):
    monkeypatch.setattr(apertium.shutil, "which", lambda name: None)
    assert not apertium_available()
    with pytest.raises(DataError, match="apt-get install -y apertium apertium-eng-spa"):
        apertium_translate(["hola"])
