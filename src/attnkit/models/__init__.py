"""Model families built from :mod:`attnkit.attention`. Never imports data.

Importing this package registers every builder with :func:`create_model`.
"""

from attnkit.models import seq2seq, transformer  # noqa: F401  (register "rnn", "transformer")
from attnkit.models.classifier import ClassifierOutput, TransformerClassifier
from attnkit.models.han import HAN, HANOutput, HierarchicalAttentionNetwork
from attnkit.models.matcher import Matcher, MatchOutput
from attnkit.models.registry import create_model, list_models, register_model
from attnkit.models.seq2seq import DECODERS, LossOutput, RNNSeq2Seq, RNNState
from attnkit.models.transformer import TransformerSeq2Seq, TransformerState

__all__ = [
           "DECODERS",
           "HAN",
           "ClassifierOutput",
           "HANOutput",
           "HierarchicalAttentionNetwork",
           "LossOutput",
           "MatchOutput",
           "Matcher",
           "RNNSeq2Seq",
           "RNNState",
           "TransformerClassifier",
           "TransformerSeq2Seq",
           "TransformerState",
           "create_model",
           "list_models",
           "register_model",
]
