"""Learning-rate schedules with explicit, resumable state.

* ``constant``; ``warmup``: linear warm-up to the base rate, then constant;
* ``inverse_sqrt``: warm-up, then decay with ``1/sqrt(step)`` (Vaswani et al. 2017, eq. 3 shape);
* ``plateau``: multiply by ``factor`` after ``patience`` evaluations without improvement;
* ``warmup_plateau``: both.
"""

from __future__ import annotations

import math
from typing import Protocol

__all__ = ["LRSchedule"]


class _HasParamGroups(Protocol):
    param_groups: list[dict]


class LRSchedule:
    def __init__(self, optimizer: _HasParamGroups, *, kind: str, lr: float, warmup_steps: int = 0, factor: float = 0.5,
                 patience: int = 2, min_lr: float = 0.0) -> None:
        self.optimizer, self.kind, self.base_lr = optimizer, kind, lr
        self.warmup_steps, self.factor, self.patience, self.min_lr = warmup_steps, factor, patience, min_lr
        self.scale = 1.0  # plateau decay so far
        self.bad_evals = 0
        self.apply(0)

    def rate(self, step: int) -> float:
        warm = self.kind in ("warmup", "warmup_plateau", "inverse_sqrt") and self.warmup_steps > 0
        lr = self.base_lr
        if warm and step < self.warmup_steps:
            lr *= (step + 1) / self.warmup_steps
        elif self.kind == "inverse_sqrt" and self.warmup_steps > 0:
            lr *= math.sqrt(self.warmup_steps / max(step, 1))
        return max(lr * self.scale, self.min_lr) if self.scale < 1.0 else lr

    def apply(self, step: int) -> float:
        lr = self.rate(step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def on_eval(self, improved: bool) -> None:
        """Plateau bookkeeping after a dev evaluation."""
        if self.kind not in ("plateau", "warmup_plateau"):
            return
        self.bad_evals = 0 if improved else self.bad_evals + 1
        if self.bad_evals > self.patience:
            self.scale *= self.factor
            self.bad_evals = 0

    def state_dict(self) -> dict:
        return {"scale": self.scale, "bad_evals": self.bad_evals}

    def load_state_dict(self, state: dict) -> None:
        self.scale, self.bad_evals = float(state["scale"]), int(state["bad_evals"])
