"""Corpora, tokenizers and length-bucketed batching. Never imports models."""

from attnkit.data.batching import Batch, bucket_batches, make_batch, pad
from attnkit.data.dates import FORMATS, format_date, generate_dates, load_dates
from attnkit.data.examples import Pair
from attnkit.data.parallel import ParallelData, read_lines, read_parallel
from attnkit.data.tokenizers import BOS, EOS, KINDS, PAD, SPECIALS, UNK, Tokenizer, load_tokenizer, train_tokenizer

__all__ = [
    "BOS",
    "EOS",
    "FORMATS",
    "KINDS",
    "PAD",
    "SPECIALS",
    "UNK",
    "Batch",
    "Pair",
    "ParallelData",
    "Tokenizer",
    "bucket_batches",
    "format_date",
    "generate_dates",
    "load_dates",
    "load_tokenizer",
    "make_batch",
    "pad",
    "read_lines",
    "read_parallel",
    "train_tokenizer",
]
