"""Data-parallel training over several processes with PyTorch's DistributedDataParallel.

``torchrun --nproc_per_node N -m attnkit train CONFIG`` starts N copies of ``attnkit train``; torchrun
sets ``RANK``/``WORLD_SIZE``/``MASTER_ADDR``/``MASTER_PORT`` and :func:`setup` joins them into one group
(gloo: attnkit trains on the CPU). Every process builds the same length-bucketed batches from
``(seed, epoch)`` and trains on its share of each (:func:`shard`): ``train.max_tokens`` and
``train.batch_size`` are the *global* batch, so N processes take the same optimiser steps as one
process would, each doing 1/N of the work.

The loss each process back-propagates is rescaled by :func:`global_sums` so that the gradient
DDP averages equals the gradient of the mean over the whole global batch (per target token, or per
example), not the mean of per-process means: with dropout off, two processes reproduce one process's
losses up to floating-point summation order. Only rank 0 writes the model directory, logs, shows
progress and evaluates; stop decisions (time limit, early stopping, Ctrl-C) are agreed by all ranks
every step (:func:`agree`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["Group", "LossModule", "agree", "barrier", "global_sums", "setup", "shard", "teardown", "wrap"]


@dataclass(frozen=True)
class Group:
    """This process's place in the run: ``rank`` of ``world`` processes (1 = not distributed)."""

    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def setup() -> Group:
    """Join the process group that torchrun describes in the environment; a plain ``Group()`` without it."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Group()
    if not dist.is_initialized():
        dist.init_process_group(backend="gloo")
    return Group(rank=dist.get_rank(), world=dist.get_world_size())


def teardown(group: Group) -> None:
    if group.distributed and dist.is_initialized():
        dist.destroy_process_group()


def barrier(group: Group) -> None:
    if group.distributed:
        dist.barrier()


def shard(idx: list[int], group: Group) -> list[int]:
    """This rank's part of a global batch (sorted by length, so the parts have similar lengths)."""
    return idx[group.rank::group.world] if group.distributed else idx


def global_sums(count: int, nll: float, group: Group) -> tuple[float, float, int]:
    """``(factor, total_nll, total_count)`` over the global batch, from this rank's ``count`` units
    (target tokens or examples) and summed ``nll``, in one all-reduce.

    Multiply a loss averaged over this rank's units by ``factor`` and DDP's average of the gradients is
    the gradient of the mean over all units of the global batch (ranks' shares differ in size)."""
    if not group.distributed:
        return 1.0, nll, count
    sums = torch.tensor([count, nll], dtype=torch.float64)
    dist.all_reduce(sums)
    total_count = int(sums[0].item())
    return count * group.world / max(total_count, 1), float(sums[1].item()), total_count


def agree(flags: tuple[bool, ...], group: Group) -> tuple[bool, ...]:
    """Each flag true on every rank when it is true on any rank (stop requests, stop reasons), in one
    all-reduce."""
    if not group.distributed:
        return flags
    value = torch.tensor([int(f) for f in flags], dtype=torch.int32)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return tuple(bool(v) for v in value.tolist())


class LossModule(nn.Module):
    """``forward(batch)`` = ``model.loss(batch, ...)``, so that DistributedDataParallel, which only sees
    ``forward``, wraps the loss computation (its gradient hooks must see every training forward)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch, **kwargs):
        return self.model.loss(batch, **kwargs)


def wrap(model: nn.Module, group: Group) -> nn.Module:
    """The module the training step calls: ``LossModule(model)``, inside DDP when distributed.
    ``find_unused_parameters`` because some families leave parameters unused in some batches."""
    loss_module = LossModule(model)
    if not group.distributed:
        return loss_module
    return nn.parallel.DistributedDataParallel(loss_module, find_unused_parameters=True)
