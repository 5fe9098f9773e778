"""Transformer decoding with the key/value cache vs without it (the full decoder re-run every step).

    python benchmarks/decoding.py                  # 100-token outputs, batch 1 and 32, beam 1 and 5
    python benchmarks/decoding.py --quick          # a smoke run

Both paths decode the same model over the same step protocol; EOS is masked out so every hypothesis
is exactly ``--length`` tokens long, and the script checks that both paths produce the same tokens.
Times are medians of ``--repeats`` runs after a warm-up, in one process, with 2 threads.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from dataclasses import dataclass

import torch
from torch import Tensor

from attnkit.decoding import beam_search, greedy_search
from attnkit.models import create_model
from attnkit.models.transformer import TransformerSeq2Seq, TransformerState

EOS = 2


class NoEOS:
    """Wraps a step model so EOS is never chosen: every output has the full length."""

    def __init__(self, model) -> None:
        self.model = model

    def encode(self, src: Tensor, src_mask: Tensor):
        return self.model.encode(src, src_mask)

    def decode_step(self, tokens: Tensor, state):
        log_probs, state, attn = self.model.decode_step(tokens, state)
        return log_probs.index_fill(1, torch.tensor([EOS]), float("-inf")), state, attn


@dataclass
class _Prefix:
    memory: TransformerState  # cross-attention keys/values (projected once, as in the cached path)
    prefix: Tensor  # [B, t] every token fed so far


class Uncached:
    """The reference without a self-attention cache: re-run the decoder over the whole prefix each step."""

    def __init__(self, model: TransformerSeq2Seq) -> None:
        self.model = model

    def encode(self, src: Tensor, src_mask: Tensor) -> _Prefix:
        return _Prefix(self.model.encode(src, src_mask), src.new_zeros(src.size(0), 0))

    def decode_step(self, tokens: Tensor, state: _Prefix):
        prefix = torch.cat([state.prefix, tokens[:, None]], 1)  # [B, t+1]
        hidden, _, cross = self.model.decode_full(prefix, state.memory, need_weights=True)
        log_probs = torch.log_softmax(self.model.generator(hidden[:, -1]), -1)
        attn = cross[:, self.model.align_layer, :, -1].mean(1)  # [B, S]
        return log_probs, _Prefix(state.memory, prefix), attn


def _time(fn, repeats: int) -> tuple[float, object]:
    out = fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--length", type=int, default=100, help="output tokens per hypothesis")
    ap.add_argument("--src-len", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    length = 10 if args.quick else args.length
    model = create_model("transformer", src_vocab=4000, tgt_vocab=4000, embed_dim=256, num_heads=4, ff_dim=1024,
                         encoder_layers=3, decoder_layers=3, share_embeddings=True).eval()
    cached, uncached = NoEOS(model), NoEOS(Uncached(model))
    rows = []
    for batch in ((1, 4) if args.quick else (1, 32)):
        src = torch.randint(4, 4000, (batch, args.src_len))
        mask = torch.ones_like(src, dtype=torch.bool)
        for beam in (1, 5):
            def run(m, beam=beam, src=src, mask=mask):
                common = {"max_len_ratio": 0.0, "max_len_offset": length}
                if beam == 1:
                    return greedy_search(m, src, mask, **common)
                return beam_search(m, src, mask, beam=beam, **common)

            t_cached, out_c = _time(lambda run=run: run(cached), args.repeats)
            t_full, out_u = _time(lambda run=run: run(uncached), args.repeats)
            same = all(a[0].tokens == b[0].tokens for a, b in zip(out_c, out_u, strict=True))
            assert all(len(h[0].tokens) == length for h in out_c)
            rows.append((batch, beam, t_full, t_cached, same))
    print(f"Transformer 3+3 layers, D=256, 4 heads, FF 1024, vocab 4000; source {args.src_len} tokens, "
          f"{length} output tokens; {platform.machine()}, torch {torch.__version__}, 2 threads, "
          f"median of {args.repeats}")
    print()
    print("| batch | beam | no cache (s) | KV cache (s) | speed-up | same tokens |")
    print("|---:|---:|---:|---:|---:|---|")
    for batch, beam, t_full, t_cached, same in rows:
        print(f"| {batch} | {beam} | {t_full:.2f} | {t_cached:.2f} | {t_full / t_cached:.1f}x | {same} |")


if __name__ == "__main__":
    main()
