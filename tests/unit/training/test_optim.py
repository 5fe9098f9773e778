"""attnkit's Adam against torch.optim.Adam: the same updates, the same state layout, and no TorchDynamo import."""

import subprocess
import sys

import pytest
import torch

from attnkit.training.optim import Adam


def _params(seed=0):
    torch.manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(4, 3)), torch.nn.Parameter(torch.randn(5)),
            torch.nn.Parameter(torch.randn(2, 2))]


def _grads(step, params):
    g = torch.Generator().manual_seed(100 + step)
    for i, p in enumerate(params):
        p.grad = None if (i == 2 and step % 2) else torch.randn(p.shape, generator=g)  # one sometimes has none


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "loop"])
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_same_updates_and_state_as_torch(weight_decay, fused):
    ours, theirs = _params(), _params()
    a = Adam(ours, lr=0.01, weight_decay=weight_decay)
    a.fused = a.fused and fused  # the per-tensor fallback of torches without a fused kernel, too
    b = torch.optim.Adam(theirs, lr=0.01, weight_decay=weight_decay, foreach=False)
    for step in range(6):
        _grads(step, ours)
        _grads(step, theirs)
        a.step()
        b.step()
        a.param_groups[0]["lr"] = b.param_groups[0]["lr"] = 0.01 / (step + 2)  # as a schedule does
    for p, q in zip(ours, theirs, strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
    sa, sb = a.state_dict(), b.state_dict()
    assert sa["state"].keys() == sb["state"].keys()
    for i in sb["state"]:
        for key in ("step", "exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(sa["state"][i][key], sb["state"][i][key], rtol=1e-5, atol=1e-7)


def test_state_dicts_load_both_ways():
    ours, theirs = _params(), _params()
    a, b = Adam(ours, lr=0.01), torch.optim.Adam(theirs, lr=0.01)
    for step in range(3):
        _grads(step, ours)
        _grads(step, theirs)
        a.step()
        b.step()
    fresh = Adam(_params(), lr=0.5)
    fresh.load_state_dict(b.state_dict())  # a torch checkpoint resumes in attnkit
    assert fresh.param_groups[0]["lr"] == 0.01
    torch.testing.assert_close(fresh.state[fresh.param_groups[0]["params"][0]]["exp_avg"],
                               b.state[theirs[0]]["exp_avg"])
    back = torch.optim.Adam(_params(), lr=0.5)
    back.load_state_dict(a.state_dict())  # and the other way
    assert back.param_groups[0]["lr"] == 0.01 and len(back.state) == len(a.state)
    # Resumed from torch's state, the next update is torch's next update.
    resumed = fresh.param_groups[0]["params"]
    with torch.no_grad():
        for p, q in zip(resumed, theirs, strict=True):
            p.copy_(q)
    _grads(3, resumed)
    _grads(3, theirs)
    fresh.step()
    b.step()
    for p, q in zip(resumed, theirs, strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_mismatched_state_and_bad_settings_raise():
    a = Adam(_params(), lr=0.01)
    other = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=0.01)
    with pytest.raises(ValueError, match="this model has one group of 3 parameters"):
        a.load_state_dict(other.state_dict())
    swapped = _params()
    b = Adam([swapped[1], swapped[0], swapped[2]], lr=0.01)  # same count, other order: shapes disagree
    _grads(0, swapped)
    b.step()
    with pytest.raises(ValueError, match="state of parameter 0 has shape"):
        a.load_state_dict(b.state_dict())
    with pytest.raises(ValueError, match="empty parameter list"):
        Adam([])
    with pytest.raises(ValueError, match="invalid Adam settings"):
        Adam(_params(), lr=-1.0)


def test_zero_grad():
    params = _params()
    a = Adam(params)
    _grads(0, params)
    a.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in params)
    a.zero_grad()
    assert all(p.grad is None for p in params)


def test_constructing_and_stepping_does_not_import_dynamo():
    code = ("import sys, torch\nfrom attnkit.training.optim import Adam\n"
            "p = torch.nn.Parameter(torch.ones(3)); a = Adam([p]); p.grad = torch.ones(3); a.step()\n"
            "print(any(m.startswith('torch._dynamo') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
