"""From a ``DataConfig`` to pairs and tokenizers: the one place that knows every corpus."""

from __future__ import annotations

import logging
from pathlib import Path

from attnkit.config import DataConfig, FilesConfig
from attnkit.data import Pair, Tokenizer, load_dates, load_tokenizer, read_parallel, train_tokenizer
from attnkit.errors import DataError

__all__ = ["SPLITS", "build_tokenizers", "load_split", "load_tokenizers"]

SPLITS = ("train", "dev", "test")
log = logging.getLogger("attnkit")


def _files(cfg: DataConfig, split: str) -> FilesConfig:
    files = getattr(cfg, split)
    if files is None:
        raise DataError(f"data.{split} is not set: give data.{split}.src (and .tgt) to use the '{split}' split")
    return files


def load_split(cfg: DataConfig, split: str, *, seed: int) -> list[Pair]:
    """Pairs of one split of the configured corpus (training pairs over ``max_len`` are skipped)."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if cfg.corpus == "dates":
        sizes = None if cfg.train_size is None else {"train": cfg.train_size, "dev": 1000, "test": 2000}
        pairs = load_dates(split, seed=seed, sizes=sizes)
    elif cfg.corpus == "bible":
        from attnkit.data.bible import load_bible

        pairs = load_bible(split, src=cfg.src_lang, tgt=cfg.tgt_lang, english=cfg.english)
    else:
        files = _files(cfg, split)
        data = read_parallel(files.src, files.tgt, max_len=cfg.max_len if split == "train" else None)
        if data.skipped_long:
            log.warning("%s: skipped %d pairs longer than data.max_len=%d characters", files.src,
                        data.skipped_long, cfg.max_len)
        return data.pairs
    if split == "train":
        kept = [p for p in pairs if len(p.src) <= cfg.max_len and len(p.tgt) <= cfg.max_len]
        if len(kept) < len(pairs):
            log.warning("skipped %d training pairs longer than data.max_len=%d characters",
                        len(pairs) - len(kept), cfg.max_len)
        pairs = kept
    return pairs


def build_tokenizers(cfg: DataConfig, pairs: list[Pair], directory: Path) -> tuple[Tokenizer, Tokenizer]:
    """Train source/target tokenizers on the training pairs and save them into the model directory."""
    tok = cfg.tokenizer
    kwargs = {"vocab_size": tok.vocab_size, "model_type": tok.model_type, "min_freq": tok.min_freq,
              "directory": directory}
    if tok.shared:
        shared = train_tokenizer(tok.kind, [p.src for p in pairs] + [p.tgt for p in pairs], name="src", **kwargs)
        shared.save(directory, "tgt")
        return shared, shared
    return (train_tokenizer(tok.kind, [p.src for p in pairs], name="src", **kwargs),
            train_tokenizer(tok.kind, [p.tgt for p in pairs], name="tgt", **kwargs))


def load_tokenizers(directory: Path) -> tuple[Tokenizer, Tokenizer]:
    return load_tokenizer(directory, "src"), load_tokenizer(directory, "tgt")
