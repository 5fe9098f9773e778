"""A trained model directory as a translator: text in, hypotheses with their attention out."""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch
from torch import Tensor, nn

from attnkit.config import Config, DecodeConfig
from attnkit.data import BOS, UNK, Tokenizer, pad
from attnkit.decoding import beam_search, greedy_search
from attnkit.errors import ConfigError, DataError
from attnkit.models import create_model
from attnkit.training.checkpoint import load_weights
from attnkit.training.corpus import load_tokenizers

__all__ = ["Translation", "Translator", "build_model", "decode_workers", "map_batches"]

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Translation:
    text: str
    score: float  # total log-probability
    norm_score: float  # after the length penalty
    src_tokens: list[str]
    tgt_tokens: list[str]  # generated pieces, plus "</s>" when it ended with EOS
    attn: Tensor | None  # [len(tgt_tokens), len(src_tokens)] the alignment view (None: asked for text only)
    # With all_heads=True, for models with several attention maps (the Transformer):
    attn_layers: Tensor | None = None  # [len(tgt_tokens), L, H, len(src_tokens)] every decoder layer and head
    encoder_attn: Tensor | None = None  # [L, H, len(src_tokens), len(src_tokens)] encoder self-attention


def build_model(config: Config, src_vocab: int, tgt_vocab: int) -> nn.Module:
    m = config.model
    kwargs = m.builder_kwargs()
    return create_model(m.family, src_vocab=src_vocab, tgt_vocab=tgt_vocab, **kwargs)


def _source_batch(seqs: list[list[int]]) -> tuple[Tensor, Tensor]:
    """Padded source ids ``[B, S]`` and their mask ``[B, S]`` (True = real token)."""
    src = pad(seqs)
    return src, torch.arange(src.size(1))[None, :] < torch.tensor([len(s) for s in seqs])[:, None]


def decode_workers(requested: int | None, batches: int, device: torch.device) -> int:
    """How many batches to decode at once: ``requested`` (capped at ``batches``), or by default 2 on the CPU
    when torch has at least 2 threads and there are at least 2 batches, else 1.

    A search step of a small model is a few dozen operations on ``[B * K, H]`` tensors: two threads inside
    each of them leave the cores idle between operations and in the Python bookkeeping, while two batches,
    one thread each, keep both busy (measured for the peers' RNN on 2 cores: 1.2-1.3x the sentences/s)."""
    if requested is not None:
        if requested < 1:
            raise ValueError(f"workers must be at least 1, got {requested}")
        return max(1, min(requested, batches))
    if device.type != "cpu":
        return 1
    return max(1, min(2, torch.get_num_threads(), batches))


def map_batches(fn: Callable[[T], R], batches: Sequence[T], workers: int, *, processes: bool = False) -> list[R]:
    """``[fn(b) for b in batches]``, ``workers`` at a time in threads (torch releases the GIL inside its
    operations), under inference mode, each thread with ``threads // workers`` of torch's intra-op threads;
    torch's thread count is restored afterwards.

    ``processes=True`` (where ``fork`` exists) runs the workers as forked processes instead: each sees the
    parent's model copy-on-write and none waits for another's GIL between operations, so a step's Python
    bookkeeping runs in parallel too. ``fn``'s results must pickle. For one-shot runs only (``attnkit
    translate``): forking a process whose other threads may hold locks, such as a server, is unsafe."""
    if workers <= 1:
        return [fn(b) for b in batches]
    threads = torch.get_num_threads()
    if processes and "fork" in multiprocessing.get_all_start_methods() and sys.platform.startswith("linux"):
        return _map_forked(fn, batches, workers, max(1, threads // workers))

    @torch.inference_mode()  # grad mode is per thread: a new thread starts with gradients on
    def work(batch: T) -> R:
        return fn(batch)

    try:  # OpenMP's thread count is per calling thread: each worker sets its own
        with ThreadPoolExecutor(workers, initializer=torch.set_num_threads,
                                initargs=(max(1, threads // workers),)) as pool:
            return list(pool.map(work, batches))
    finally:
        torch.set_num_threads(threads)


_FORKED: tuple | None = None  # (fn, batches, threads) handed to forked workers by inheritance, not pickling


def _forked_init() -> None:
    torch.set_num_threads(_FORKED[2])


def _forked_call(index: int):
    with torch.inference_mode():
        return _FORKED[0](_FORKED[1][index])


def _map_forked(fn: Callable[[T], R], batches: Sequence[T], workers: int, threads: int) -> list[R]:
    """:func:`map_batches` in ``workers`` forked processes, one batch a task (the next free worker takes it)."""
    global _FORKED
    _FORKED = (fn, batches, threads)
    try:
        with multiprocessing.get_context("fork").Pool(workers, initializer=_forked_init) as pool:
            return pool.map(_forked_call, range(len(batches)), chunksize=1)
    finally:
        _FORKED = None


class Translator:
    """Batched translation with a model and its tokenizers (sorted by length, original order restored)."""

    def __init__(self, model: nn.Module, src_tok: Tokenizer, tgt_tok: Tokenizer, decode: DecodeConfig,
                 max_len: int = 400) -> None:
        self.model, self.src_tok, self.tgt_tok, self.decode, self.max_len = model, src_tok, tgt_tok, decode, max_len
        self.model.eval()

    @classmethod
    def from_dir(cls, model_dir: str | Path) -> Translator:
        from attnkit.training.tasks import read_model_config  # tasks imports this module lazily

        model_dir = Path(model_dir)
        config = read_model_config(model_dir, "translate")
        src_tok, tgt_tok = load_tokenizers(model_dir)
        model = build_model(config, src_tok.vocab_size, tgt_tok.vocab_size)
        load_weights(model, model_dir / "model.safetensors", config.model.family)
        return cls(model, src_tok, tgt_tok, config.decode, config.data.max_len)

    def _encode(self, sentences: list[str]) -> list[list[int]]:
        ids = []
        for i, s in enumerate(sentences, 1):
            if not s.strip():
                raise DataError(f"input {i} is empty; give one non-empty sentence per line")
            if len(s) > self.max_len:
                raise DataError(f"input {i} has {len(s)} characters, over the model's limit of {self.max_len}; "
                                f"split it into shorter sentences")
            ids.append(self.src_tok.encode(s))
        return ids

    @property
    def has_layers(self) -> bool:
        """Whether the model can hand back every layer and head (``all_heads=True``)."""
        return hasattr(self.model, "attention_output") and hasattr(self.model, "encode_memory")

    @torch.inference_mode()
    def translate(self, sentences: list[str], *, beam: int | None = None, n_best: int | None = None,
                  batch_size: int | None = None, all_heads: bool = False, attention: bool = True,
                  workers: int | None = None, processes: bool = False) -> list[list[Translation]]:
        """n-best translations per sentence; ``beam=1`` is greedy search.

        ``all_heads=True`` also returns, for models that have them, the cross-attention of every decoder
        layer and head and the encoder self-attention (ignored for models with one attention map).
        ``attention=False`` returns the text and scores only (``attn`` None): the search then keeps no
        attention history, which is less work a step. ``workers``: batches decoded at once (default
        ``decode.workers``, else :func:`decode_workers`'s choice); the results do not depend on it.
        ``processes=True``: when only the text is asked for (``attention=False``), the workers are forked
        processes (:func:`map_batches`), as ``attnkit translate`` runs them; never in a server.
        """
        beam = beam or self.decode.beam
        n_best = min(n_best or self.decode.n_best, beam)
        all_heads = all_heads and self.has_layers
        attention = attention or all_heads
        ids = self._encode(sentences)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        results: list[list[Translation]] = [[] for _ in ids]
        bs = batch_size or self.decode.batch_size
        previous = getattr(self.model, "attention_output", None)
        chunks = [order[start : start + bs] for start in range(0, len(order), bs)]

        def run(chunk: list[int]) -> list[tuple[int, list[Translation]]]:
            seqs = [ids[i] or [UNK] for i in chunk]
            src, mask = _source_batch(seqs)
            enc = self.model.encode_memory(src, mask, need_weights=True)[1] if all_heads else None
            found = self._search(src, mask, beam, n_best, attention)
            done = []
            for b, (i, hyps) in enumerate(zip(chunk, found, strict=True)):
                n = len(seqs[b])
                enc_b = None if enc is None else enc[b, :, :, :n, :n].float().cpu()  # [L, H, S_i, S_i]
                done.append((i, [self._wrap(sentences[i], h, all_heads, enc_b) for h in hyps]))
            return done

        device = next(self.model.parameters()).device
        try:
            if all_heads:
                self.model.attention_output = "all"
            n_workers = decode_workers(workers or self.decode.workers, len(chunks), device)
            for done in map_batches(run, chunks, n_workers, processes=processes and not attention):
                for i, translations in done:
                    results[i] = translations
        finally:
            if all_heads:
                self.model.attention_output = previous
        return results

    @torch.inference_mode()
    def align(self, sources: list[str], targets: list[str], *, batch_size: int | None = None) -> list[Tensor]:
        """Forced alignment: the model's teacher-forced attention while it reads each given target.

        Returns one ``[len(target tokens) + 1, len(source tokens)]`` tensor per pair (rows: the target
        tokens, then EOS; row ``t`` is the attention used to predict target token ``t``). Batched like
        :meth:`translate`; only models whose ``forward(src, src_mask, tgt_in)`` returns
        ``(logits, attn [B, T, S])`` (the RNN and Transformer encoder-decoders) can align.
        """
        if len(sources) != len(targets):
            raise DataError(f"{len(sources)} sources but {len(targets)} targets: they must pair up line by line")
        src_ids = self._encode(sources)
        tgt_ids = [self.tgt_tok.encode(t) for t in targets]
        order = sorted(range(len(src_ids)), key=lambda i: (len(src_ids[i]), len(tgt_ids[i])))
        aligned: list[Tensor] = [torch.empty(0) for _ in src_ids]
        bs = batch_size or self.decode.batch_size
        for start in range(0, len(order), bs):
            chunk = order[start : start + bs]
            seqs = [src_ids[i] or [UNK] for i in chunk]
            src, mask = _source_batch(seqs)  # [B, S], [B, S]
            tgt_in = pad([[BOS, *tgt_ids[i]] for i in chunk])  # [B, T]
            out = self.model(src, mask, tgt_in)
            attn = out[1] if isinstance(out, tuple) and len(out) == 2 else None  # [B, T, S]
            if not isinstance(attn, Tensor) or attn.shape != (*tgt_in.shape, src.size(1)):
                raise ConfigError(f"{type(self.model).__name__} does not return teacher-forced attention "
                                  f"[B, T, S] from forward(src, src_mask, tgt_in); forced alignment needs a model "
                                  f"that does (the RNN and Transformer encoder-decoders)")
            for b, i in enumerate(chunk):
                aligned[i] = attn[b, : len(tgt_ids[i]) + 1, : len(seqs[b])].float().cpu()  # [T_i + 1, S_i]
        return aligned

    def _search(self, src: Tensor, mask: Tensor, beam: int, n_best: int, attention: bool = True):
        d = self.decode
        common = {"max_len_ratio": d.max_len_ratio, "max_len_offset": d.max_len_offset, "attention": attention}
        if beam == 1:
            return greedy_search(self.model, src, mask, **common)
        return beam_search(self.model, src, mask, beam=beam, n_best=n_best, length_penalty=d.length_penalty,
                           **common)

    def _wrap(self, sentence: str, hyp, all_heads: bool = False, encoder_attn: Tensor | None = None) -> Translation:
        tgt_tokens = [self.tgt_tok.id_to_piece(t) for t in hyp.tokens] + (["</s>"] if hyp.finished else [])
        attn, layers = hyp.attn, None
        if all_heads:  # hyp.attn is [T, L, H, S]
            attn, layers = self.model.alignment_from(hyp.attn), hyp.attn
        return Translation(self.tgt_tok.decode(hyp.tokens), float(hyp.score), float(hyp.norm_score),
                           self.src_tok.pieces(sentence), tgt_tokens, attn, layers, encoder_attn)
