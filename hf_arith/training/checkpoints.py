"""What a resumed run reads from a checkpoint folder, checked before any work: the weights fit this run's model, and
the optimizer, scheduler and RNG states are readable and of the kind the Trainer wrote. The Trainer itself would fail
on any of these only later, with a traceback (a shape mismatch as RuntimeError, a truncated file as
UnpicklingError); here it is one ValueError that names the checkpoint and the file."""

import os
from collections import Counter

import torch
from safetensors import safe_open
from transformers.trainer_pt_utils import safe_globals

from ..loading import check_regular_file

# The Trainer's file names (transformers.trainer: OPTIMIZER_NAME, SCHEDULER_NAME, the rng files).
OPTIMIZER_FILE, SCHEDULER_FILE, WEIGHTS_FILE = "optimizer.pt", "scheduler.pt", "model.safetensors"
MAX_STATE_BYTES = 1 << 32  # a state file larger than 4 GiB is not one of these small models'


def _checked_path(checkpoint: str, name: str) -> str:
    path = os.path.join(checkpoint, name)
    try:
        check_regular_file(path, MAX_STATE_BYTES)
    except ValueError as error:  # its message names the whole path; this one names the checkpoint, like the others
        raise ValueError(f"checkpoint {checkpoint!r}: {str(error).replace(repr(path), name)}") from None
    return path


def _shapes_of_weights(checkpoint: str) -> dict[str, tuple]:
    path = _checked_path(checkpoint, WEIGHTS_FILE)
    try:
        with safe_open(path, framework="pt") as f:
            return {name: tuple(f.get_slice(name).get_shape()) for name in f.keys()}
    except Exception as error:  # safetensors raises its own SafetensorError (and OSError) on a damaged header
        raise ValueError(f"checkpoint {checkpoint!r}: {WEIGHTS_FILE} cannot be read ({_first_line(error)})") from None


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _load_state(checkpoint: str, name: str):
    """torch.load with weights_only=True (plain tensors and containers only, nothing executed), as the Trainer does."""
    path = _checked_path(checkpoint, name)
    try:
        with safe_globals():  # the numpy RNG state, allow-listed as the Trainer does
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # UnpicklingError, RuntimeError (truncated zip), EOFError, ...
        raise ValueError(f"checkpoint {checkpoint!r}: {name} cannot be read ({_first_line(error)})") from None


def _is_optimizer_state(state) -> bool:
    return (isinstance(state, dict) and isinstance(state.get("state"), dict)
            and isinstance(state.get("param_groups"), list))


def _check_optimizer(checkpoint: str, state, model: torch.nn.Module, muon: bool = False) -> None:
    # --optimizer muon saves {"adamw": ..., "muon": ...} (optim.MuonWithAdamW)
    composite = isinstance(state, dict) and set(state) == {"adamw", "muon"}
    parts = [state.get("adamw"), state.get("muon")] if composite else [state]
    if not all(_is_optimizer_state(part) for part in parts):
        raise ValueError(f"checkpoint {checkpoint!r}: {OPTIMIZER_FILE} does not hold an optimizer state")
    if composite != muon:
        raise ValueError(f"checkpoint {checkpoint!r} was trained with --optimizer {'muon' if composite else 'adamw'}; "
                         f"resume it with the same optimizer (this run: {'muon' if muon else 'adamw'})")
    # the moments' shapes are the trained parameters' shapes (the order is the Trainer's grouping, not ours)
    moments = Counter(tuple(s[key].shape) for part in parts for s in part["state"].values() if isinstance(s, dict)
                      for key in ("exp_avg", "momentum_buffer") if isinstance(s.get(key), torch.Tensor))
    if moments:
        parameters = Counter(tuple(p.shape) for p in model.parameters() if p.requires_grad)
        if moments != parameters:
            raise ValueError(f"checkpoint {checkpoint!r}: {OPTIMIZER_FILE} holds the optimizer of another model "
                             f"({sum(moments.values())} tensors, shapes do not match this run's "
                             f"{sum(parameters.values())} parameters)")


def check_resumable(checkpoint: str, model: torch.nn.Module, muon: bool = False) -> None:
    """One ValueError naming `checkpoint` if this run (with --optimizer muon: `muon`) cannot resume from it; nothing
    is loaded into `model`."""
    saved = _shapes_of_weights(checkpoint)
    expected = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    tied = {name for name in expected if name not in saved and name.endswith("lm_head.weight")}
    for name, shape in expected.items():
        if name in tied:
            continue
        if name not in saved:
            raise ValueError(f"checkpoint {checkpoint!r} does not fit this run's model: it has no {name}")
        if saved[name] != shape:
            raise ValueError(f"checkpoint {checkpoint!r} does not fit this run's model: {name} has shape "
                             f"{list(saved[name])} there, {list(shape)} here (was it trained with other settings?)")
    extra = sorted(set(saved) - set(expected))
    if extra:
        raise ValueError(f"checkpoint {checkpoint!r} does not fit this run's model: it has {extra[0]}, this model not")
    if os.path.exists(os.path.join(checkpoint, OPTIMIZER_FILE)):
        _check_optimizer(checkpoint, _load_state(checkpoint, OPTIMIZER_FILE), model, muon)
    if os.path.exists(os.path.join(checkpoint, SCHEDULER_FILE)):
        if not isinstance(_load_state(checkpoint, SCHEDULER_FILE), dict):
            raise ValueError(f"checkpoint {checkpoint!r}: {SCHEDULER_FILE} does not hold a scheduler state")
    for name in sorted(os.listdir(checkpoint)):
        if name.startswith("rng_state") and name.endswith(".pth"):
            state = _load_state(checkpoint, name)
            if not (isinstance(state, dict) and {"python", "numpy", "cpu"} <= set(state)):
                raise ValueError(f"checkpoint {checkpoint!r}: {name} does not hold the Trainer's RNG states")
