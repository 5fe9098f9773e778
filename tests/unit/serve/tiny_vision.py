"""One tiny model of each vision family (captioner, video_captioner, ram, cnn_classifier), trained for two
steps on a few generated images: the plumbing of serving them, not the quality.

For the serve tests and the explorer's browser test, which both load this file by path (the tests are
not a package): :func:`tiny_vision_dirs` trains the four models at most once per test session.
"""

from __future__ import annotations

from pathlib import Path

TRAIN = {"max_steps": 2, "eval_every": 2, "save_every": 2, "batch_size": 4, "warmup_steps": 1,
         "eval_max_sentences": 2, "threads": 1}
CNN = {"channels": [4, 8, 8]}
DECODER = {"embed_dim": 8, "hidden_dim": 16, "attention_dim": 8}
CLUTTERED = {"corpus": "cluttered", "train_size": 8, "eval_size": 2}
FRAMES = 7
MODELS = {  # name -> (data, model)
    "scenes": ({"corpus": "scenes", "train_size": 8, "eval_size": 2}, {"family": "captioner", **CNN, **DECODER}),
    "clips": ({"corpus": "clips", "train_size": 8, "eval_size": 2, "frames": FRAMES},
              {"family": "video_captioner", **CNN, **DECODER}),
    "ram": (CLUTTERED, {"family": "ram", "glimpses": 3, "hidden_dim": 16}),
    "cnn": (CLUTTERED, {"family": "cnn_classifier", **CNN}),
}
_TRAINED: dict[str, Path] = {}


def tiny_vision_dirs(tmp_path_factory) -> dict[str, Path]:
    """``{"scenes": dir, "clips": dir, "ram": dir, "cnn": dir}``, trained on the first call of the session."""
    if not _TRAINED:
        from attnkit.config import validate_config
        from attnkit.training import train

        root = tmp_path_factory.mktemp("tiny_vision")
        for name, (data, model) in MODELS.items():
            config = {"name": name, "seed": 3, "data": data, "model": model, "train": TRAIN,
                      "decode": {"beam": 2, "max_len_offset": 4}}
            train(validate_config(config), root / name, resume=False, progress=False)
            _TRAINED[name] = root / name
    return dict(_TRAINED)
