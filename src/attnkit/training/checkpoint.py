"""Model directories and checkpoints: atomic writes, safe loading, clear errors.

* ``model.safetensors``: the best weights (safetensors: loading runs no code), tagged with
  :data:`FORMAT` and the model family in its metadata so a foreign file is recognised.
* ``last.pt``: everything needed to resume (weights, optimiser, schedule, RNG, position in the
  data), read back with ``torch.load(weights_only=True)`` so no arbitrary object is unpickled.

Every write goes to a temporary file in the same directory, then ``os.replace``: an interrupted
write never leaves a half-written checkpoint behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, safe_open, save_model
from torch import nn

from attnkit.errors import CheckpointError

__all__ = ["FORMAT", "atomic_write", "load_training_state", "load_weights", "save_training_state", "save_weights",
           "write_json"]

FORMAT = "attnkit-1"


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` then atomically move ``tmp`` to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: Path, data: Any) -> None:
    atomic_write(path, lambda p: p.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8"))


def save_weights(model: nn.Module, path: Path, family: str) -> None:
    atomic_write(path, lambda p: save_model(model, str(p), metadata={"format": FORMAT, "family": family}))


def load_weights(model: nn.Module, path: Path, family: str) -> None:
    """Load ``model.safetensors`` into ``model``; missing, corrupt or foreign files raise CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist: is this a model directory written by `attnkit train`?")
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path} is not a readable safetensors file ({err}); retrain or restore it") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} was not written by attnkit (metadata {meta or 'empty'}); "
                              f"expected format {FORMAT}")
    if meta.get("family") != family:
        raise CheckpointError(f"{path} holds a '{meta.get('family')}' model but config.yaml describes '{family}'")
    try:
        missing, unexpected = load_model(model, str(path), strict=False)
    except (SafetensorError, RuntimeError) as err:
        raise CheckpointError(f"{path} does not fit the model in config.yaml: {err}") from None
    if missing or unexpected:
        raise CheckpointError(f"{path} does not fit config.yaml: missing {sorted(missing)[:5]}, "
                              f"unexpected {sorted(unexpected)[:5]}")


def save_training_state(path: Path, state: dict[str, Any]) -> None:
    atomic_write(path, lambda p: torch.save({"format": FORMAT, **state}, p))


def load_training_state(path: Path) -> dict[str, Any]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a corrupt or foreign file
        raise CheckpointError(f"{path} cannot be read as an attnkit training state ({type(err).__name__}: "
                              f"{str(err)[:200]}); delete it to start over, or restore a good copy") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an attnkit training state (format {FORMAT})")
    return state
