"""The vision tasks' plumbing: image files in, padded batches of a fixed size out."""

import numpy as np
import pytest
import torch
from PIL import Image

from attnkit.config import validate_config
from attnkit.data import BOS, EOS, PAD
from attnkit.errors import DataError
from attnkit.training.vision import GlimpseTask, make_caption_batch, read_image_file


def test_caption_batch_pads_like_translation_targets():
    pixels = torch.full((2, 4, 4), 255, dtype=torch.uint8)
    batch = make_caption_batch(pixels, [[5, 6, 7], [8]], [3, 9], video=False)
    assert batch.images.shape == (2, 1, 4, 4) and batch.images.max() == 1.0
    assert batch.tgt_in.tolist() == [[BOS, 5, 6, 7], [BOS, 8, PAD, PAD]]
    assert batch.tgt_out.tolist() == [[5, 6, 7, EOS], [8, EOS, PAD, PAD]]
    assert batch.ntokens == 6 and batch.indices == [3, 9]
    clips = make_caption_batch(torch.zeros(2, 7, 4, 4, dtype=torch.uint8), [[5], [6]], [0, 1], video=True)
    assert clips.frames.shape == (2, 7, 1, 4, 4)


def test_read_image_file_turns_colour_grey_and_checks_arrays(tmp_path):
    rgb = np.zeros((5, 6, 3), dtype=np.uint8)
    rgb[..., 1] = 200  # pure green: luma 0.587 * 200
    Image.fromarray(rgb).save(tmp_path / "green.png")
    np.save(tmp_path / "green.npy", rgb)
    for name in ("green.png", "green.npy"):
        grey = read_image_file(tmp_path / name)
        assert grey.dtype == np.uint8 and grey.shape == (5, 6) and abs(int(grey[0, 0]) - 117) <= 1
    np.save(tmp_path / "float.npy", np.full((3, 4, 4), 0.5, dtype=np.float32))
    assert read_image_file(tmp_path / "float.npy", clip=True)[0, 0, 0] == 128
    np.save(tmp_path / "big.npy", np.full((4, 4), 3.0))
    with pytest.raises(DataError, match="floats in \\[0, 1\\]"):
        read_image_file(tmp_path / "big.npy")
    np.save(tmp_path / "clip.npy", np.zeros((3, 5, 5), dtype=np.uint8))
    with pytest.raises(DataError, match=r"expected an array \[H, W\]"):
        read_image_file(tmp_path / "clip.npy")


def test_batches_hold_batch_size_examples_and_depend_on_the_epoch(tmp_path):
    config = validate_config({"data": {"corpus": "cluttered", "train_size": 20, "eval_size": 4},
                              "model": {"family": "cnn_classifier"}, "train": {"batch_size": 8}})
    task = GlimpseTask(config, tmp_path)
    task.prepare(resuming=False)
    first = task.batches(0)
    assert sorted(len(b) for b in first) == [4, 8, 8] and sorted(i for b in first for i in b) == list(range(20))
    assert first == task.batches(0) and first != task.batches(1)
    batch = task.batch(first[0])
    assert batch.images.shape == (len(first[0]), 1, 60, 60) and batch.labels.dtype == torch.long
    assert (tmp_path / "labels.json").is_file()
