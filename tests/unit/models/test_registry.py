"""Every registered model: forward, backward, finite loss and gradients, protocol shapes (timm-style)."""

from types import SimpleNamespace

import pytest
import torch

from attnkit.data import make_batch
from attnkit.models import create_model, list_models

VARIANTS = [("rnn", {"decoder": d, "cell": c, "score": s, "embed_dim": 8, "hidden_dim": 16})
            for d, c, s in [("bahdanau", "gru", "additive"), ("luong", "lstm", "general"), ("luong", "gru", "dot"),
                            ("luong", "gru", "concat"), ("none", "lstm", "additive")]]
VARIANTS += [("transformer", {"embed_dim": 16, "num_heads": 2, "ff_dim": 32, "norm_first": nf}) for nf in (True, False)]


CLASSIFIERS = [("transformer_classifier", {"embed_dim": 16, "num_heads": 2, "ff_dim": 32, "pooling": p})
               for p in ("attention", "mean", "cls")]
CLASSIFIERS += [("han", {"embed_dim": 8, "hidden_dim": 6, "attention_dim": 5, "pooling": p})
                for p in ("attention", "mean", "max")]
PAIR_MODELS = [("matcher", {"embed_dim": 8, "hidden_dim": 6, "coattention": c}) for c in (True, False)]
_TINY_DECODER = {"channels": (4, 6, 8), "embed_dim": 8, "hidden_dim": 12, "attention_dim": 6}
VISION_CAPTIONERS = [("captioner", {**_TINY_DECODER, "attention": a}) for a in ("soft", "hard")]
VISION_CAPTIONERS += [("video_captioner", {**_TINY_DECODER, "max_frames": 4})]
VISION_CLASSIFIERS = [("cnn_classifier", {"channels": (4, 6, 8)}),
                      ("ram", {"image_size": 16, "glimpse_size": 4, "scales": 2, "glimpses": 2, "glimpse_hidden": 6,
                               "location_hidden": 6, "hidden_dim": 8})]


def test_every_registered_model_is_covered():
    covered = VARIANTS + CLASSIFIERS + PAIR_MODELS + VISION_CAPTIONERS + VISION_CLASSIFIERS
    assert {name for name, _ in covered} == set(list_models())


@pytest.mark.parametrize(("name", "kwargs"), CLASSIFIERS, ids=lambda v: str(v) if isinstance(v, str) else "")
def test_classifiers_forward_backward(name, kwargs):
    torch.manual_seed(0)
    model = create_model(name, vocab_size=15, num_classes=3, **kwargs)
    tokens = torch.tensor([[5, 6, 7, 8], [9, 10, 0, 0]])
    if name == "han":  # documents: [B, N, W]
        tokens = torch.stack([tokens, tokens.flip(0)], 1)
    out = model.loss(SimpleNamespace(tokens=tokens, mask=tokens != 0, labels=torch.tensor([0, 2])), label_smoothing=0.1)
    assert torch.isfinite(out.loss) and out.ntokens == 2 and out.logits.shape == (2, 3)
    out.loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize(("name", "kwargs"), VARIANTS, ids=lambda v: str(v) if isinstance(v, str) else "")
def test_forward_backward_and_protocol(name, kwargs):
    torch.manual_seed(0)
    model = create_model(name, src_vocab=15, tgt_vocab=17, **kwargs)
    batch = make_batch([[5, 6, 7, 8], [9, 10]], [[4, 5, 6], [7]], [0, 1])
    out = model.loss(batch, label_smoothing=0.1)
    assert torch.isfinite(out.loss) and out.ntokens == 6
    out.loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    model.eval()
    state = model.encode(batch.src, batch.src_mask)
    log_probs, state, attn = model.decode_step(torch.ones(2, dtype=torch.long), state)
    assert log_probs.shape == (2, 17) and attn.shape == (2, 4)
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(2))


@pytest.mark.parametrize(("name", "kwargs"), PAIR_MODELS, ids=lambda v: str(v) if isinstance(v, str) else "")
def test_pair_models_forward_backward(name, kwargs):
    torch.manual_seed(0)
    model = create_model(name, vocab_size=15, num_classes=2, **kwargs)
    a, b = torch.tensor([[5, 6, 7, 8], [9, 10, 0, 0]]), torch.tensor([[5, 6, 0], [11, 12, 13]])
    out = model.loss(SimpleNamespace(tokens_a=a, mask_a=a != 0, tokens_b=b, mask_b=b != 0, labels=torch.tensor([1, 0])))
    assert torch.isfinite(out.loss) and out.ntokens == 2 and out.logits.shape == (2, 2)
    out.loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize(("name", "kwargs"), VISION_CAPTIONERS, ids=lambda v: str(v) if isinstance(v, str) else "")
def test_vision_captioners_forward_backward_and_protocol(name, kwargs):
    torch.manual_seed(0)
    model = create_model(name, tgt_vocab=11, **kwargs)
    inputs = torch.rand(2, 3, 1, 16, 16) if name == "video_captioner" else torch.rand(2, 1, 16, 16)
    regions = 3 if name == "video_captioner" else 4
    tgt_in, tgt_out = torch.tensor([[1, 5, 6], [1, 7, 0]]), torch.tensor([[5, 6, 2], [7, 2, 0]])
    out = model.loss(SimpleNamespace(images=inputs, frames=inputs, tgt_in=tgt_in, tgt_out=tgt_out), label_smoothing=0.1)
    assert torch.isfinite(out.loss) and out.ntokens == 5 and out.attn.shape == (2, 3, regions)
    out.loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    model.eval()
    log_probs, _, attn = model.decode_step(torch.ones(2, dtype=torch.long), model.encode(inputs))
    assert log_probs.shape == (2, 11) and attn.shape == (2, regions)
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(2))


@pytest.mark.parametrize(("name", "kwargs"), VISION_CLASSIFIERS, ids=lambda v: str(v) if isinstance(v, str) else "")
def test_image_classifiers_forward_backward(name, kwargs):
    torch.manual_seed(0)
    model = create_model(name, num_classes=3, **kwargs)
    out = model.loss(SimpleNamespace(images=torch.rand(2, 1, 16, 16), labels=torch.tensor([0, 2])), label_smoothing=0.1)
    assert torch.isfinite(out.loss) and out.ntokens == 2 and out.logits.shape == (2, 3)
    out.loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
