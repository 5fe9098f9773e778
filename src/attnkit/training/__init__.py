"""Training, checkpoints and the model directory. One loop for every family with ``loss(batch)``."""

from attnkit.training.loop import Trainer, TrainState, train
from attnkit.training.translator import Translation, Translator, build_model

__all__ = ["TrainState", "Trainer", "Translation", "Translator", "build_model", "train"]
