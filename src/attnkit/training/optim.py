"""Adam (Kingma & Ba 2015) as a small class over PyTorch's own functional Adam.

Why not ``torch.optim.Adam`` itself: constructing any ``torch.optim.Optimizer`` imports TorchDynamo
(``add_param_group`` is wrapped by ``torch._disable_dynamo``, which imports ``torch._dynamo`` on its
first call), and that import alone holds about 150 MiB of resident memory (sympy, the dynamo and fx
modules) for the rest of the process, a third of a small model's training footprint, although attnkit
compiles nothing. The update itself is ``torch.optim.adam.adam``, the documented functional form that
``torch.optim.Adam.step`` calls, with the fused kernel where this torch has one for the device (2.7x
faster than the per-tensor loop on the CPU, measured on a small Transformer's parameters), so the
arithmetic is PyTorch's: the parity tests check equal parameters and equal state after several steps.

``state_dict()`` has ``torch.optim.Adam``'s layout (``state`` keyed by parameter index with ``step``,
``exp_avg``, ``exp_avg_sq``; ``param_groups`` with ``params`` as indices), so a checkpoint's optimizer
state loads into either class; ``param_groups[0]["lr"]`` is what schedules set. It is not a
``torch.optim.Optimizer`` subclass: torch's LR schedulers and ``GradScaler`` do not take it (attnkit's own
:class:`~attnkit.training.schedule.LRSchedule` does).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor
from torch.optim.adam import adam as functional_adam

__all__ = ["Adam"]


def _fused_works(device: torch.device) -> bool:
    """Whether this torch has a fused Adam kernel for ``device`` (CPU since torch 2.4)."""
    p = torch.zeros(1, device=device)
    try:
        functional_adam([p.clone()], [p.clone()], [p.clone()], [p.clone()], [], [torch.zeros((), device=device)],
                        fused=True, amsgrad=False, beta1=0.9, beta2=0.999, lr=0.0, weight_decay=0.0, eps=1e-8,
                        maximize=False)
    except (RuntimeError, TypeError):
        return False
    return True


class Adam:
    """Adam with L2 weight decay (as ``torch.optim.Adam``), one parameter group.

    Attributes:
        param_groups: one dict holding ``params`` and the hyper-parameters (``lr`` may be changed between steps).
        state: per parameter ``{"step", "exp_avg", "exp_avg_sq"}``, created at its first update.
    """

    def __init__(self, params: Iterable[Tensor], *, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        params = list(params)
        if not params:
            raise ValueError("Adam got an empty parameter list")
        if lr < 0 or eps < 0 or weight_decay < 0 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"invalid Adam settings: lr={lr}, betas={betas}, eps={eps}, weight_decay={weight_decay}")
        self.param_groups = [{"params": params, "lr": lr, "betas": tuple(betas), "eps": eps,
                              "weight_decay": weight_decay, "amsgrad": False, "maximize": False}]
        self.state: dict[Tensor, dict[str, Tensor]] = {}
        self.fused = _fused_works(params[0].device) and all(p.is_floating_point() for p in params)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.param_groups[0]["params"]:
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.detach_().zero_()

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        group = self.param_groups[0]
        params, grads, exp_avgs, exp_avg_sqs, steps = [], [], [], [], []
        for p in group["params"]:
            if p.grad is None:
                continue
            if p.grad.is_sparse:
                raise ValueError("Adam does not support sparse gradients")
            state = self.state.get(p)
            if state is None:
                state = self.state[p] = {"step": torch.zeros((), dtype=torch.float32, device=p.device),
                                         "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                                         "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format)}
            params.append(p)
            grads.append(p.grad)
            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])
            steps.append(state["step"])
        if not params:
            return
        beta1, beta2 = group["betas"]
        functional_adam(params, grads, exp_avgs, exp_avg_sqs, [], steps, fused=True if self.fused else None,
                        amsgrad=False, beta1=beta1, beta2=beta2, lr=group["lr"], weight_decay=group["weight_decay"],
                        eps=group["eps"], maximize=False)

    def state_dict(self) -> dict:
        """The state in ``torch.optim.Adam``'s layout (parameters as their indices)."""
        group = self.param_groups[0]
        index = {id(p): i for i, p in enumerate(group["params"])}
        return {"state": {index[id(p)]: dict(s) for p, s in self.state.items()},
                "param_groups": [{**{k: v for k, v in group.items() if k != "params"},
                                  "params": list(range(len(group["params"])))}]}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state saved by :meth:`state_dict` or by ``torch.optim.Adam`` for the same parameters."""
        groups, params = state_dict.get("param_groups"), self.param_groups[0]["params"]
        if not isinstance(groups, list) or len(groups) != 1 or len(groups[0].get("params", ())) != len(params):
            n = [len(g.get("params", ())) for g in groups] if isinstance(groups, list) else "?"
            raise ValueError(f"optimizer state holds parameter groups of sizes {n}; this model has one group of "
                             f"{len(params)} parameters")
        saved = groups[0]
        for key in ("lr", "betas", "eps", "weight_decay"):
            if key in saved:
                self.param_groups[0][key] = tuple(saved[key]) if key == "betas" else saved[key]
        self.state = {}
        for i, s in state_dict.get("state", {}).items():
            p = params[saved["params"].index(i)]
            if s["exp_avg"].shape != p.shape or s["exp_avg_sq"].shape != p.shape:
                raise ValueError(f"the state of parameter {i} has shape {list(s['exp_avg'].shape)}, the parameter "
                                 f"{list(p.shape)}")
            step = torch.as_tensor(s["step"], dtype=torch.float32).to(p.device).reshape(()).clone()  # never shared
            self.state[p] = {"step": step, "exp_avg": s["exp_avg"].to(p.device, p.dtype).clone(),
                             "exp_avg_sq": s["exp_avg_sq"].to(p.device, p.dtype).clone()}
