"""The teacher-forced Luong decoder (stacked LSTM, dot/general attention, input feeding) as one autograd node.

Stepping the decoder with autograd records some thirty nodes a target step (the LSTM cells' gate
arithmetic, the attention's masking and softmax, the concatenations), and backpropagating them costs
more in dispatch than the small matrix products compute; every weight's gradient is also a
``[4Hd, B] x [B, in]`` product per step, accumulated step by step. :func:`luong_lstm_recurrence` runs
the whole recurrence in one :class:`torch.autograd.Function`: the forward pass writes the activations
into preallocated ``[T, ...]`` buffers with no autograd bookkeeping, the backward pass is written out
(backpropagation through time, the LSTM's and the softmax's derivatives by hand), and each weight's
gradient is one product over all ``T * B`` rows at the end.

It computes what :meth:`attnkit.models.seq2seq.RNNSeq2Seq._step` computes for ``decoder: luong``,
``cell: lstm`` and a ``dot`` or ``general`` score with the softmax (the general score's ``W_a`` is
applied to the keys once per source, outside): per target step ``t`` and layer ``l``

    gates = W_ih^l x^l_t + b_ih^l + W_hh^l h^l_{t-1} + b_hh^l      (i, f, g, o, PyTorch's order)
    c^l_t = sigmoid(f) * c^l_{t-1} + sigmoid(i) * tanh(g);  h^l_t = sigmoid(o) * tanh(c^l_t)
    x^0_t = [e_t; h~_{t-1}] (input feeding) or e_t;  x^{l+1}_t = h^l_t * m^l_t (dropout mask or 1)
    a_t = softmax(keys . h^top_t) over the real source positions;  c_t = a_t @ memory
    h~_t = tanh(W_c [c_t; h^top_t])

``tests/unit/models/test_fused_luong.py`` checks outputs and every gradient against the step-by-step path.

Legend: B batch, S source len, T target len, E embed dim, H decoder hidden, L layers.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor

__all__ = ["LuongLSTMStep", "luong_lstm_recurrence"]


def _gate_order(H: int, device: torch.device) -> Tensor:
    """Rows ``[i, f, o, g]`` from PyTorch's ``[i, f, g, o]``: the three sigmoid gates side by side and the
    candidate last. Swapping two blocks is its own inverse, so the same index puts the gradients back."""
    r = torch.arange(4 * H, device=device)
    return torch.cat([r[:2 * H], r[3 * H:], r[2 * H:3 * H]])


def _arranged(weights: list[Tensor], E: int, input_feeding: bool):
    """The decoder weights as both passes use them: gate rows in :func:`_gate_order`, ``b_ih + b_hh`` summed.

    Returns ``(W_emb [4H, E], W_x, W_h, bias, scale)``: per layer ``W_x [4H, in_l]`` (the input's share;
    layer 0 without input feeding has none) and ``W_h [4H, H]``; ``bias`` per layer and ``scale [4H, 1]``
    (1, and 2 on the candidate rows) already applied to ``bias`` only: tanh(x) = 2 sigmoid(2x) - 1, so with
    the candidate rows doubled one sigmoid covers all four gates (a tanh of those columns alone, a strided
    slice, costs more than the sigmoid of the whole row)."""
    W_ih, W_hh, b_ih, b_hh = weights[0::4], weights[1::4], weights[2::4], weights[3::4]
    H = W_hh[0].size(1)
    order = _gate_order(H, W_hh[0].device)
    scale = torch.ones(4 * H, 1, dtype=W_hh[0].dtype, device=W_hh[0].device)
    scale[3 * H:] = 2.0
    W_x = [None if l == 0 and not input_feeding else (W_ih[l][:, E:] if l == 0 else W_ih[l])[order]
           for l in range(len(W_ih))]
    W_h = [w[order] for w in W_hh]
    bias = [(bi + bh)[order] * scale[:, 0] for bi, bh in zip(b_ih, b_hh, strict=True)]
    return W_ih[0][:, :E][order], W_x, W_h, bias, scale


class _LuongLSTM(torch.autograd.Function):
    """Layer ``l``'s step reads one buffer row ``Z[l][t] = [x^l_t; h^l_{t-1}]`` and multiplies it by
    ``[W_ih^l W_hh^l]`` (one product for both); the embeddings' share of layer 0's gates is one product
    for all steps before the loop. Its outputs are written straight into the rows that read them next:
    ``h^l_t`` into ``Z[l][t + 1]`` and ``Z[l + 1][t]``, ``h~_t`` into ``Z[0][t + 1]``."""

    @staticmethod
    def forward(ctx, emb, memory, keys, pad, masks, h0, c0, W_c, input_feeding, *weights):
        # emb [B, T, E]; memory, keys [B, S, H]; pad [B, S] bool (True = padding); masks [T, L-1, B, H] or
        # None; h0, c0 [L, B, H]; W_c [H, 2H]; weights: (W_ih, W_hh, b_ih, b_hh) per layer.
        B, T, E = emb.shape
        L, H = h0.size(0), h0.size(2)
        n = [H if input_feeding else 0] + [H] * (L - 1)  # width of x^l in Z[l] (layer 0: only the feed)
        W_emb, W_x, W_h, bias, scale = _arranged(list(weights), E, input_feeding)
        Wz = [W_h[l] if W_x[l] is None else torch.cat([W_x[l], W_h[l]], 1) for l in range(L)]  # [4H, n_l + H]
        Wz_2g = [w * scale for w in Wz]
        emb_rows = emb.transpose(0, 1).reshape(T * B, E)
        P = torch.addmm(bias[0], emb_rows, (W_emb * scale).t()).view(T, B, 4 * H)  # layer 0's gates from e_t
        new = emb.new_empty
        Z = [new(T + 1, B, n[l] + H) for l in range(L)]
        C = [new(T + 1, B, H) for _ in range(L)]
        G = [new(T, B, 4 * H) for _ in range(L)]  # activated gates, [i, f, o, g]
        TC = [new(T, B, H) for _ in range(L)]  # tanh(c_t)
        A, CH = new(T, B, pad.size(1)), new(T, B, 2 * H)
        Feat = new(T, B, H)
        if input_feeding:
            Z[0][0, :, :H] = 0.0  # h~_0
        for l in range(L):
            Z[l][0, :, n[l]:], C[l][0] = h0[l], c0[l]
        fill = torch.finfo(emb.dtype).min
        keep = (~pad).to(emb.dtype) if bool(pad.all(1).any()) else None  # only an empty source needs it
        for t in range(T):
            for l in range(L):
                g = G[l][t]
                torch.addmm(P[t] if l == 0 else bias[l], Z[l][t], Wz_2g[l].t(), out=g).sigmoid_()
                g[:, 3 * H:].mul_(2.0).sub_(1.0)
                c = C[l][t + 1]
                torch.mul(g[:, H:2 * H], C[l][t], out=c).addcmul_(g[:, :H], g[:, 3 * H:])
                torch.tanh(c, out=TC[l][t])
                h = Z[l][t + 1][:, n[l]:]
                torch.mul(g[:, 2 * H:3 * H], TC[l][t], out=h)
                if l + 1 < L:
                    below = Z[l + 1][t][:, :H]
                    torch.mul(h, masks[t, l], out=below) if masks is not None else below.copy_(h)
            scores = torch.bmm(h.unsqueeze(1), keys.transpose(1, 2)).squeeze(1).masked_fill_(pad, fill)  # [B, S]
            a = torch.softmax(scores, dim=1)
            if keep is not None:
                a.mul_(keep)
            A[t] = a
            CH[t, :, :H] = torch.bmm(a.unsqueeze(1), memory).squeeze(1)  # context c_t
            CH[t, :, H:] = h
            torch.mm(CH[t], W_c.t(), out=Feat[t]).tanh_()
            if input_feeding:
                Z[0][t + 1][:, :H] = Feat[t]
        ctx.set_materialize_grads(False)  # an output the loss does not read (the attention) gets None
        ctx.input_feeding, ctx.sizes, ctx.widths = input_feeding, (B, T, E, L, H), n
        ctx.save_for_backward(memory, keys, masks, W_c, W_emb, emb_rows, A, CH, Feat, *Wz, *Z, *C, *G, *TC)
        return Feat.transpose(0, 1), A.transpose(0, 1)  # [B, T, H], [B, T, S]

    @staticmethod
    def backward(ctx, d_feat, d_attn):
        B, T, E, L, H = ctx.sizes
        n, feeding = ctx.widths, ctx.input_feeding
        memory, keys, masks, W_c, W_emb, emb_rows, A, CH, Feat, *rest = ctx.saved_tensors
        Wz, Z, C, G, TC = (rest[i * L:(i + 1) * L] for i in range(5))
        d_feat = d_feat.transpose(0, 1) if d_feat is not None else None  # [T, B, H]
        d_attn = d_attn.transpose(0, 1) if d_attn is not None else None  # [T, B, S]
        DF = 1.0 - Feat * Feat  # tanh' of h~, all steps at once
        D, ODTC = [], []
        for l in range(L):
            deriv = G[l] * (1.0 - G[l])  # sigmoid' of i, f, o
            deriv[..., 3 * H:] = 1.0 - G[l][..., 3 * H:] ** 2  # tanh' of g
            D.append(deriv.unbind(0))
            ODTC.append((G[l][..., 2 * H:3 * H] * (1.0 - TC[l] * TC[l])).unbind(0))  # o tanh'(c): dh -> dc
        new = Feat.new_empty
        d_pre, dG = new(T, B, H), [new(T, B, 4 * H) for _ in range(L)]
        d_CH, DS = new(T, B, 2 * H), new(T, B, A.size(2))  # d [c_t; h_t] and d scores_t, for the memory and keys
        dh_next = [Feat.new_zeros(B, H) for _ in range(L)]  # from step t + 1 through W_hh
        dc_next = [Feat.new_zeros(B, H) for _ in range(L)]
        d_feed = Feat.new_zeros(B, H)  # from step t + 1 through input feeding
        for t in reversed(range(T)):
            dp = d_pre[t]  # d h~_t: from the output, and from step t + 1's input
            if d_feat is None:
                dp.copy_(d_feed)
            else:
                torch.add(d_feat[t], d_feed, out=dp)
            dp.mul_(DF[t])  # through the tanh
            d_ch = torch.mm(dp, W_c, out=d_CH[t])  # [B, 2H]: d [c_t; h_t]
            a = A[t]  # [B, S]
            da = torch.bmm(d_ch[:, :H].unsqueeze(1), memory.transpose(1, 2)).squeeze(1)  # [B, S]
            if d_attn is not None:
                da.add_(d_attn[t])
            ds = torch.mul(da.sub_((a * da).sum(1, keepdim=True)), a, out=DS[t])  # softmax'; 0 if masked
            dh = torch.baddbmm(d_ch[:, H:].unsqueeze(1), ds.unsqueeze(1), keys).squeeze(1)  # [B, H]
            for l in reversed(range(L)):
                dh.add_(dh_next[l])
                g, d, dc = G[l][t], dG[l][t], dc_next[l]
                dc.addcmul_(dh, ODTC[l][t])  # dc_t = dc_{t+1} f_{t+1} + dh o tanh'(c)
                torch.mul(dc, g[:, 3 * H:], out=d[:, :H])  # i
                torch.mul(dc, C[l][t], out=d[:, H:2 * H])  # f
                torch.mul(dh, TC[l][t], out=d[:, 2 * H:3 * H])  # o
                torch.mul(dc, g[:, :H], out=d[:, 3 * H:])  # g
                d.mul_(D[l][t])  # through the activations
                dc.mul_(g[:, H:2 * H])  # what reaches c_{t-1}
                dz = d @ Wz[l]  # [B, n_l + H]: d [x^l_t; h^l_{t-1}]
                dh_next[l] = dz[:, n[l]:]
                if l:
                    dh = dz[:, :H].mul_(masks[t, l - 1]) if masks is not None else dz[:, :H]
                elif feeding:
                    d_feed = dz[:, :H]
        # memory and keys: every step's outer products at once, [B, S, T] x [B, T, H]
        top = Z[L - 1][1:, :, n[L - 1]:]  # h^top_t, [T, B, H]
        d_memory = torch.bmm(A.permute(1, 2, 0), d_CH[:, :, :H].transpose(0, 1))
        d_keys = torch.bmm(DS.permute(1, 2, 0), top.transpose(0, 1))
        order = _gate_order(H, Feat.device)
        rows = [dG[l].view(T * B, 4 * H) for l in range(L)]
        d_emb = (rows[0] @ W_emb).view(T, B, E).transpose(0, 1)
        grads_w = []
        for l in range(L):
            dWz = (rows[l].t() @ Z[l][:T].reshape(T * B, n[l] + H))[order]
            db = rows[l].sum(0)[order]
            d_ih = dWz[:, :n[l]]
            if l == 0:
                d_emb_w = (rows[0].t() @ emb_rows)[order]
                d_ih = torch.cat([d_emb_w, d_ih], 1) if feeding else d_emb_w
            grads_w += [d_ih, dWz[:, n[l]:], db, db.clone()]
        d_Wc = d_pre.view(T * B, H).t() @ CH.view(T * B, 2 * H)
        return (d_emb, d_memory, d_keys, None, None, torch.stack(dh_next), torch.stack(dc_next), d_Wc, None,
                *grads_w)


def luong_lstm_recurrence(emb: Tensor, memory: Tensor, keys: Tensor, src_mask: Tensor, masks: Tensor | None,
                          h0: Tensor, c0: Tensor, W_c: Tensor, weights: list[Tensor],
                          input_feeding: bool) -> tuple[Tensor, Tensor]:
    """The whole teacher-forced recurrence; returns features ``h~ [B, T, H]`` and attention ``[B, T, S]``.

    Shapes: emb ``[B, T, E]`` (already dropped out), memory and keys ``[B, S, H]``, src_mask ``[B, S]``
    (True = real token), masks ``[T, L-1, B, H]`` (scaled dropout masks between layers, or None),
    h0 and c0 ``[L, B, H]``, W_c ``[H, 2H]``, weights ``(W_ih, W_hh, b_ih, b_hh)`` per layer.
    """
    return _LuongLSTM.apply(emb, memory, keys, ~src_mask, masks, h0, c0, W_c, input_feeding, *weights)


class LuongLSTMStep:
    """One inference step of the same decoder (no autograd), for greedy and beam search.

    The weights are rearranged once (:meth:`RNNSeq2Seq.encode` builds one when gradients are off and
    reuses it for later batches until a weight changes): the embeddings' share of layer 0's gates becomes
    a ``[V, 4H]`` table, so a step looks its rows up instead of multiplying ``[B, E] x [E, 4H]``; the
    input's and the recurrent state's shares are added into the same buffer (no concatenated inputs); the
    gates are in the ``[i, f, o, g]`` order with the ``g`` rows doubled, as in training. Not a dataclass or
    tuple: decoding's state maps pass it through unchanged, shared by every row.
    """

    def __init__(self, embedding: Tensor, weights: list[Tensor], W_c: Tensor, input_feeding: bool,
                 empty_sources: bool = False, padded: bool = True) -> None:
        H = weights[1].size(1)
        W_emb, W_x, W_h, bias, scale = _arranged(weights, embedding.size(1), input_feeding)
        self.emb_gates = torch.addmm(bias[0], embedding, (W_emb * scale).t())  # [V, 4H]
        # x^l's and h^l's shares of the gates as two products into one buffer (no concatenation a step)
        self.W_x_t = [None if w is None else (w * scale).t() for w in W_x]  # [in_l, 4H]
        self.W_h_t = [(w * scale).t() for w in W_h]  # [H, 4H]
        self.W_cc_t, self.W_ch_t = W_c[:, :H].t(), W_c[:, H:].t()  # [H, H] each: W_c [c; h] = W_cc c + W_ch h
        self.bias, self.H, self.input_feeding = bias, H, input_feeding
        self.empty_sources = empty_sources  # some source has no real token (its attention must be zeroed)
        self.padded = padded  # some source is shorter than the batch (False: there is nothing to mask)

    def for_sources(self, src_mask: Tensor) -> LuongLSTMStep:
        """This step for a batch of sources ``src_mask [B, S]``; shares the weights."""
        padded = not bool(src_mask.all())
        empty_sources = padded and not bool(src_mask.any(1).all())
        if (empty_sources, padded) == (self.empty_sources, self.padded):
            return self
        other = copy.copy(self)
        other.empty_sources, other.padded = empty_sources, padded
        return other

    def __call__(self, tokens: Tensor, hidden: tuple[Tensor, ...], cell: tuple[Tensor, ...], feed: Tensor | None,
                 memory: Tensor, keys: Tensor, src_mask: Tensor):
        """tokens ``[N]``, hidden/cell L x ``[N, H]``, feed ``[N, H]`` -> features ``[N, H]``, hidden, cell,
        attention ``[N, S]``. memory and keys ``[B, S, H]``, src_mask ``[B, S]`` may have one row per
        sentence for its ``K = N / B`` adjacent beams (beam search's ``beams_share_source``): the scores of
        a sentence's beams are then one ``[K, H] x [H, S]`` product."""
        H = self.H
        hiddens, cells, x = [], [], feed
        for l, (h, c) in enumerate(zip(hidden, cell, strict=True)):
            if l == 0:
                g = self.emb_gates.index_select(0, tokens).addmm_(h, self.W_h_t[0])
                if x is not None:
                    g.addmm_(x, self.W_x_t[0])
            else:
                g = torch.addmm(self.bias[l], h, self.W_h_t[l]).addmm_(x, self.W_x_t[l])
            g.sigmoid_()
            cand = g[:, 3 * H:].mul_(2.0).sub_(1.0)
            c = torch.addcmul(g[:, H:2 * H] * c, g[:, :H], cand)
            h = g[:, 2 * H:3 * H] * torch.tanh(c)
            hiddens.append(h)
            cells.append(c)
            x = h
        N, B = x.size(0), memory.size(0)
        scores = torch.bmm(x.view(B, N // B, H), keys.transpose(1, 2))  # [B, K, S]
        if self.padded:
            scores.masked_fill_(~src_mask.unsqueeze(1), torch.finfo(scores.dtype).min)
        attn = torch.softmax(scores, dim=2)
        if self.empty_sources:
            attn.mul_(src_mask.unsqueeze(1))  # an empty source attends to nothing, as masked_softmax
        context = torch.bmm(attn, memory).view(N, H)  # [N, H]
        features = torch.mm(context, self.W_cc_t).addmm_(x, self.W_ch_t).tanh_()
        return features, tuple(hiddens), tuple(cells), attn.view(N, -1)
