"""Pointing, word -> frame alignment and glimpse hits on hand-made attention, scenes and clips."""

import numpy as np
import pytest

from attnkit.data.fashion import WORDS
from attnkit.data.scenes import Scene, object_word_positions, scene_caption
from attnkit.data.video import Clip, Event, event_word_frames
from attnkit.evaluation.vision import (
    caption_scores,
    frame_hits,
    glimpse_hits,
    hit_rate,
    pointing_hits,
    region_centre,
)

BAG, TOP, COAT = WORDS.index("bag"), WORDS.index("top"), WORDS.index("coat")


def _peaks(regions: list[int], size: int) -> np.ndarray:
    """One attention row per entry: almost all weight on that region, a little everywhere else."""
    attn = np.full((len(regions), size), 0.1 / (size - 1))
    attn[np.arange(len(regions)), regions] = 0.9
    return attn


def test_region_centre_is_the_middle_of_its_pixel_cell():
    # A 2 x 4 grid over a 64 x 128 image: 32 x 32 px cells; region 5 is row 1, column 1.
    assert region_centre(5, (2, 4), (64, 128)) == (48.0, 48.0)
    assert region_centre(0, (8, 8), (64, 64)) == (4.0, 4.0)
    with pytest.raises(ValueError, match="outside a 2 x 4 grid"):
        region_centre(8, (2, 4), (64, 128))


def test_pointing_scores_object_words_only():
    # bag in the top-left quarter, top in the bottom-right one; a 2 x 2 grid of 32 px cells.
    labels, boxes = (BAG, TOP), ((0, 0, 32, 32), (32, 32, 64, 64))
    tokens = ["a", "bag", "above", "a", "top", "and", "a", "coat", "</s>"]
    #          ...  bag -> 0 (its cell)          top -> 1 (top-right: wrong)   coat: not in the scene
    attn = _peaks([3, 0, 3, 3, 1, 0, 0, 3, 0], 4)
    assert pointing_hits(tokens, attn, (2, 2), (64, 64), labels, boxes, WORDS) == [True, False]
    attn[4] = _peaks([3], 4)[0]
    assert pointing_hits(tokens, attn, (2, 2), (64, 64), labels, boxes, WORDS) == [True, True]


def test_pointing_uses_the_cell_centre_not_any_overlap():
    # 32 px cells: the box overlaps cell 0 (x, y in [0, 14)) but misses its centre (16, 16); no hit.
    hits = pointing_hits(["bag"], _peaks([0], 4), (2, 2), (64, 64), (BAG,), ((0, 0, 14, 14),), WORDS)
    assert hits == [False]
    assert pointing_hits(["bag"], _peaks([0], 4), (2, 2), (64, 64), (BAG,), ((10, 10, 38, 38),), WORDS) == [True]


def test_pointing_agrees_with_object_word_positions_on_a_scene():
    # Three objects in caption order (left column top to bottom, then right column), as make_scenes lays them.
    labels = (COAT, BAG, TOP)
    boxes = ((2, 3, 30, 31), (1, 34, 29, 62), (35, 20, 63, 48))
    scene = Scene(np.zeros((64, 64), np.uint8), scene_caption(labels, boxes), boxes, labels, "hand-made")
    tokens = scene.caption.split()  # "a coat above a bag and a top right of the bag": bag named twice
    positions = object_word_positions(scene)
    centre_region = {k: (((y0 + y1) // 2) // 8) * 8 + ((x0 + x1) // 2) // 8 for k, (x0, y0, x1, y1) in enumerate(boxes)}
    regions = [0] * len(tokens)
    for t, k in positions:
        regions[t] = centre_region[k]
    hits = pointing_hits(tokens, _peaks(regions, 64), (8, 8), (64, 64), labels, boxes, WORDS)
    assert hits == [True] * len(positions) and len(positions) == 4
    far = [(centre_region[k] + 36) % 64 for k in range(3)]  # the opposite corner of the canvas
    for t, k in positions:
        regions[t] = far[k]
    assert pointing_hits(tokens, _peaks(regions, 64), (8, 8), (64, 64), labels, boxes, WORDS) == [False] * 4


def test_pointing_checks_the_attention_shape():
    with pytest.raises(ValueError, match="one row per token"):
        pointing_hits(["a", "bag"], np.ones((1, 4)), (2, 2), (64, 64), (BAG,), ((0, 0, 9, 9),), WORDS)
    with pytest.raises(ValueError, match="one row per token"):
        pointing_hits(["bag"], np.ones((1, 5)), (2, 2), (64, 64), (BAG,), ((0, 0, 9, 9),), WORDS)


def test_frame_hits_on_a_hand_made_clip():
    # "a bag appears then the bag moves left": events on frames 1-2 and 4-6 of 7.
    events = (Event("appears", BAG, "", (0, 3), (1, 3)), Event("moves", BAG, "left", (4, 8), (4, 7)))
    clip = Clip(np.zeros((7, 48, 48), np.uint8), "a bag appears then the bag moves left", events)
    gold = event_word_frames(clip)
    assert [t for t, _ in gold] == [0, 1, 2, 4, 5, 6, 7]  # "then" (token 3) belongs to no event
    #                    a  bag appears then the bag moves left </s>
    attn = _peaks([1, 2, 0, 3, 4, 6, 3, 5, 0], 7)
    assert frame_hits(attn, gold) == [True, True, False, True, True, False, True]
    with pytest.raises(ValueError, match="one row per token"):
        frame_hits(attn[:5], gold)


def test_glimpse_hits_map_minus_one_to_the_top_left_corner():
    box = (0, 0, 20, 20)
    locations = [[-1.0, -1.0], [-0.5, -0.5], [0.0, 0.0], [-0.9, 0.9]]  # pixels (0, 0), (15, 15), (30, 30), (3, 57)
    assert glimpse_hits(locations, box, (60, 60)) == [True, True, False, False]
    with pytest.raises(ValueError, match=r"\[G, 2\]"):
        glimpse_hits([1.0, 2.0], box, (60, 60))


def test_hit_rate_pools_examples_and_says_when_nothing_was_scored():
    assert hit_rate([[True, False], [], [True, True]]) == pytest.approx(75.0)
    assert hit_rate([[], []]) is None


def test_caption_scores():
    scores = caption_scores(["a bag left of a top", "a coat"], ["a bag left of a top", "a sandal"])
    assert scores["exact_match"] == 50.0 and 0 < scores["bleu"] < 100 and "nrefs:1" in scores["bleu_signature"]
