"""Model families built from :mod:`attnkit.attention`. Never imports data.

Importing this package registers every builder with :func:`create_model`.
"""

from attnkit.models import seq2seq  # noqa: F401  (registers "rnn")
from attnkit.models.registry import create_model, list_models, register_model
from attnkit.models.seq2seq import DECODERS, LossOutput, RNNSeq2Seq, RNNState

__all__ = ["DECODERS", "LossOutput", "RNNSeq2Seq", "RNNState", "create_model", "list_models", "register_model"]
