"""Model families built from :mod:`attnkit.attention`. Never imports data.

Importing this package registers every builder with :func:`create_model`.
"""

from attnkit.models import seq2seq, transformer  # noqa: F401  (register "rnn", "transformer")
from attnkit.models.captioner import (
    AttentionLSTMDecoder,
    CaptionLoss,
    CaptionOutput,
    CaptionState,
    ImageCaptioner,
    search_inputs,
)
from attnkit.models.classifier import ClassifierOutput, TransformerClassifier
from attnkit.models.han import HAN, HANOutput, HierarchicalAttentionNetwork
from attnkit.models.matcher import Matcher, MatchOutput
from attnkit.models.ram import RAMLoss, RAMOutput, RecurrentAttentionModel
from attnkit.models.registry import create_model, list_models, register_model
from attnkit.models.seq2seq import DECODERS, LossOutput, RNNSeq2Seq, RNNState
from attnkit.models.transformer import TransformerSeq2Seq, TransformerState
from attnkit.models.video_captioner import VideoCaptioner
from attnkit.models.vision import CNNClassifier, SmallCNN

__all__ = [
    "DECODERS",
    "HAN",
    "AttentionLSTMDecoder",
    "CNNClassifier",
    "CaptionLoss",
    "CaptionOutput",
    "CaptionState",
    "ClassifierOutput",
    "HANOutput",
    "HierarchicalAttentionNetwork",
    "ImageCaptioner",
    "LossOutput",
    "MatchOutput",
    "Matcher",
    "RAMLoss",
    "RAMOutput",
    "RNNSeq2Seq",
    "RNNState",
    "RecurrentAttentionModel",
    "SmallCNN",
    "TransformerClassifier",
    "TransformerSeq2Seq",
    "TransformerState",
    "VideoCaptioner",
    "create_model",
    "list_models",
    "register_model",
    "search_inputs",
]
