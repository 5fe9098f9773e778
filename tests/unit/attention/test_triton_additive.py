"""Parity of the Triton additive-score kernel with the plain formula, values and all three gradients.

Without CUDA the kernels run under Triton's interpreter on CPU tensors. Triton jits its own library
(``tl.sum``, ``tl.sigmoid``, ...) when it is imported, in the mode ``TRITON_INTERPRET`` names at that moment,
so this module imports triton with the variable on (and restores the environment right after); the
``device`` fixture then switches it on for each test, when this module's kernels are jitted. If something
imported triton earlier in the session without it, the interpreter cannot work and the parity tests skip
(run this file on its own). The shapes are tiny because the interpreter is slow; small blocks make them
span several partial tiles all the same.
"""

import importlib
import importlib.util
import os
import sys

import pytest
import torch


def _import_triton_for_the_interpreter() -> None:
    if torch.cuda.is_available() or "triton" in sys.modules:
        return
    previous = os.environ.get("TRITON_INTERPRET")
    os.environ["TRITON_INTERPRET"] = "1"
    try:
        importlib.import_module("triton")
    except ImportError:
        pass  # the parity tests skip; the fallback tests still run
    finally:
        if previous is None:
            del os.environ["TRITON_INTERPRET"]
        else:
            os.environ["TRITON_INTERPRET"] = previous


_import_triton_for_the_interpreter()

from attnkit.attention import triton_additive  # noqa: E402 - after triton is imported for the interpreter
from attnkit.attention.functional import additive_scores, additive_scores_lean  # noqa: E402
from attnkit.attention.triton_additive import additive_scores_triton, triton_available  # noqa: E402

# B batch, T queries, S keys, A attention hidden dim.
FP32 = {"values": {"rtol": 1e-5, "atol": 1e-5}, "grads": {"rtol": 1e-4, "atol": 1e-5}}


@pytest.fixture
def device(monkeypatch) -> torch.device:
    """CUDA when present (compiled kernels), else the CPU under Triton's interpreter."""
    pytest.importorskip("triton")
    if torch.cuda.is_available():
        monkeypatch.delenv("TRITON_INTERPRET", raising=False)
        return torch.device("cuda")
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    if not triton_available(torch.zeros(1)):
        pytest.skip("triton was imported before TRITON_INTERPRET=1 was set: run this file on its own")
    return torch.device("cpu")


def _inputs(B, T, S, A, device, dtype=torch.float32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(B, T, A, generator=gen, dtype=dtype)  # [B, T, A]
    k = torch.randn(B, S, A, generator=gen, dtype=dtype)  # [B, S, A]
    v = torch.randn(A, generator=gen, dtype=dtype)  # [A]
    upstream = torch.randn(B, T, S, generator=gen, dtype=dtype)  # [B, T, S]; not ones, so g's indexing matters
    return [x.to(device).requires_grad_() for x in (q, k, v)], upstream.to(device)


def _values_and_grads(fn, inputs, upstream, **kwargs):
    out = fn(*inputs, **kwargs)
    return out, torch.autograd.grad((out * upstream).sum(), inputs)


def _assert_parity(inputs, upstream, tol, **blocks):
    out, grads = _values_and_grads(additive_scores_triton, inputs, upstream, **blocks)
    ref, ref_grads = _values_and_grads(additive_scores, inputs, upstream)
    torch.testing.assert_close(out, ref, **tol["values"])
    for name, got, want in zip(("grad_q", "grad_k", "grad_v"), grads, ref_grads, strict=True):
        torch.testing.assert_close(got, want, **tol["grads"], msg=lambda m, name=name: f"{name}: {m}")


@pytest.mark.parametrize(
    ("shape", "blocks"),
    [
        ((2, 7, 13, 10), (4, 4, 4)),  # partial tiles in T, S and A; several T-blocks meet in grad_k's atomics
        ((3, 5, 9, 17), None),  # default blocks: one tile in T and S, A not a multiple of BLOCK_A
        ((2, 16, 8, 8), (8, 4, 4)),  # exact multiples: no masked lane at all
        ((1, 1, 1, 1), (4, 4, 4)),
    ],
)
def test_values_and_gradients_match_the_formula(device, shape, blocks):
    inputs, upstream = _inputs(*shape, device)
    kwargs = {} if blocks is None else dict(zip(("block_t", "block_s", "block_a"), blocks, strict=True))
    _assert_parity(inputs, upstream, FP32, **kwargs)


def test_strided_inputs_and_an_expanded_gradient(device):
    B, T, S, A = 2, 6, 5, 7
    gen = torch.Generator().manual_seed(1)
    q = torch.randn(B, A, T, generator=gen).to(device).transpose(1, 2).requires_grad_()  # [B, T, A], stride_a = T
    k = torch.randn(B, S + 3, A, generator=gen).to(device)[:, 2 : 2 + S].requires_grad_()  # [B, S, A], offset
    v = torch.randn(2 * A, generator=gen).to(device)[::2].requires_grad_()  # [A], stride 2
    # .sum() hands backward an expanded [B, T, S] gradient with zero strides.
    grads = torch.autograd.grad(additive_scores_triton(q, k, v, block_t=4, block_s=4, block_a=4).sum(), (q, k, v))
    ref_grads = torch.autograd.grad(additive_scores(q, k, v).sum(), (q, k, v))
    for got, want in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(got, want, **FP32["grads"])


def test_float64_is_computed_in_float64(device):
    inputs, upstream = _inputs(2, 5, 6, 9, device, dtype=torch.float64, seed=2)
    tight = {"values": {"rtol": 1e-10, "atol": 1e-12}, "grads": {"rtol": 1e-10, "atol": 1e-12}}
    _assert_parity(inputs, upstream, tight, block_t=4, block_s=4, block_a=4)


def test_float16_keeps_its_dtype_and_accumulates_in_float32(device):
    inputs, upstream = _inputs(2, 5, 6, 40, device, dtype=torch.float16, seed=3)
    out, grads = _values_and_grads(additive_scores_triton, inputs, upstream, block_t=4, block_s=4, block_a=8)
    assert out.dtype == torch.float16 and all(g.dtype == torch.float16 for g in grads)
    # The reference in float32 on the same (fp16) values: what is left is the rounding of the results.
    wide = [x.detach().float().requires_grad_() for x in inputs]
    ref, ref_grads = _values_and_grads(additive_scores, wide, upstream.float())
    torch.testing.assert_close(out.float(), ref, rtol=2e-3, atol=2e-3)
    for got, want in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(got.float(), want, rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("shape", [(2, 3, 0, 4), (2, 0, 3, 4), (2, 3, 4, 0)])
def test_empty_sizes(device, shape):
    inputs, upstream = _inputs(*shape, device)
    _assert_parity(inputs, upstream, FP32)


def test_bad_arguments_raise_clear_errors():
    q, k, v = torch.zeros(2, 3, 4), torch.zeros(2, 5, 4), torch.zeros(4)
    with pytest.raises(ValueError, match="key_proj"):
        additive_scores_triton(q, torch.zeros(2, 5, 3), v)
    with pytest.raises(ValueError, match="power of two"):
        additive_scores_triton(q, k, v, block_s=12)


def test_lean_keeps_the_pytorch_path_on_cpu(monkeypatch):
    # Even with the interpreter switched on (triton_available(cpu) is then True where triton is installed),
    # CPU tensors must take the chunked PyTorch path: the grad_fn names the autograd Function that ran.
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    inputs, _ = _inputs(2, 7, 13, 10, "cpu")
    out = additive_scores_lean(*inputs)
    assert type(out.grad_fn).__name__ == "_LeanAdditiveBackward"
    torch.testing.assert_close(out, additive_scores(*inputs), **FP32["values"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_lean_dispatches_to_triton_on_cuda_except_when_deterministic(monkeypatch):
    pytest.importorskip("triton")
    inputs, _ = _inputs(2, 7, 13, 10, "cuda")
    assert type(additive_scores_lean(*inputs).grad_fn).__name__ == "_LeanAdditiveBackward"  # opt-in only
    monkeypatch.setenv("ATTNKIT_TRITON", "1")
    assert type(additive_scores_lean(*inputs).grad_fn).__name__ == "_TritonAdditiveBackward"
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        assert type(additive_scores_lean(*inputs).grad_fn).__name__ == "_LeanAdditiveBackward"
    finally:
        torch.use_deterministic_algorithms(before)


def test_triton_available_follows_the_device_and_the_interpreter_switch(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    assert not triton_available(torch.zeros(1))
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    assert triton_available(torch.zeros(1)) == (triton_additive.triton is not None)


def test_module_imports_and_declines_without_triton(monkeypatch):
    # A second copy of the module, loaded while `import triton` fails (None in sys.modules blocks it).
    monkeypatch.setitem(sys.modules, "triton", None)
    monkeypatch.setitem(sys.modules, "triton.language", None)
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    spec = importlib.util.spec_from_file_location("_triton_additive_without_triton", triton_additive.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.triton is None
    assert not module.triton_available(torch.zeros(1))
    with pytest.raises(RuntimeError, match="needs triton"):
        module.additive_scores_triton(torch.zeros(1, 2, 3), torch.zeros(1, 4, 3), torch.zeros(3))
