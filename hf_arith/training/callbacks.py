"""Trainer callbacks: stop at a validation target or a wall-clock budget, and keep a timed history."""

import json
import math
import os
import time

import torch
from transformers import TrainerCallback

from .artifacts import write_json

TIMING_FILE = "hf_arith_timing.json"


class TargetAndTiming(TrainerCallback):
    """Records wall time at every log and evaluation, stops training once `metric` reaches `target`, and stops it
    when `max_seconds` of training have passed. The clock counts what the Trainer's loop counts (evaluations
    included)."""

    def __init__(self, target: float | None, metric: str = "eval_exact_match", max_seconds: float | None = None):
        self.target, self.metric, self.max_seconds = target, metric, max_seconds
        self.stopped_by_budget = False
        self.clock_s = 0.0  # the training time at the last step's end, the same on every rank (read by the schedule)
        self.start: float | None = None
        self.history: list[dict] = []
        self.seconds_to_target: float | None = None
        self.earlier_seconds = 0.0  # training time before the checkpoint a resumed run starts from
        self.train_seconds: float | None = None  # the whole training's wall time, set when training ends

    def elapsed(self) -> float:
        return self.earlier_seconds + time.perf_counter() - self.start

    def resume_from(self, checkpoint: str) -> None:
        """Continues the history and clock saved in `checkpoint` (by `on_save`), so a resumed run reports the whole
        training, not only its last part."""
        path = os.path.join(checkpoint, TIMING_FILE)
        if os.path.isfile(path):
            with open(path) as f:
                saved = json.load(f)
            self.history, self.earlier_seconds = saved["history"], saved["elapsed_s"]
            self.seconds_to_target = saved["seconds_to_target"]

    def on_save(self, args, state, control, **kwargs):
        checkpoint = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
        if state.is_world_process_zero and os.path.isdir(checkpoint):
            write_json(os.path.join(checkpoint, TIMING_FILE), {  # renamed into place: never half a file
                "history": self.history, "elapsed_s": self.elapsed(), "seconds_to_target": self.seconds_to_target})

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.perf_counter()
        self.clock_s = self.earlier_seconds

    def on_train_end(self, args, state, control, **kwargs):
        self.train_seconds = self.elapsed()

    def on_step_end(self, args, state, control, **kwargs):
        if self.max_seconds is None:
            return
        self.clock_s = _slowest_rank(self.elapsed(), getattr(args, "device", "cpu"))
        if self.clock_s >= self.max_seconds:  # every rank sees the same clock, so all stop after the same step
            self.stopped_by_budget = True
            control.should_training_stop = True

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and self.start is not None:
            self.history.append({"step": state.global_step, "elapsed_s": self.elapsed(), **logs})

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        value = (metrics or {}).get(self.metric)
        if self.target is not None and value is not None and value >= self.target:
            if self.seconds_to_target is None:
                self.seconds_to_target = self.elapsed()
            control.should_training_stop = True


def _slowest_rank(seconds: float, device) -> float:
    """The largest of the ranks' clocks (one all-reduce per step under torch.distributed; the value itself alone)."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return seconds
    value = torch.tensor([seconds], dtype=torch.float64, device=device)
    torch.distributed.all_reduce(value, op=torch.distributed.ReduceOp.MAX)
    return float(value.item())


# The learning-rate shapes a wall-clock budget can follow: fraction of the peak after warm-up, at progress q in [0, 1].
CLOCK_SCHEDULES = {"cosine": lambda q: 0.5 * (1.0 + math.cos(math.pi * q)), "linear": lambda q: 1.0 - q}


def clock_schedule(optimizer, kind: str, warmup_steps: int, max_steps: int, timing: TargetAndTiming):
    """Linear warm-up, then `kind` (cosine or linear) over the progress of whichever runs out first, the steps or
    the clock: q = max(steps after warm-up / steps of the decay, training seconds / max_seconds). A run the budget
    cuts short has annealed by then (the learning rate reaches 0 as the clock reaches max_seconds); a run that
    finishes its steps first follows transformers' schedule of the same name whenever the clock is behind.
    The lambda is a closure, not a callable object: LambdaLR would save an object's fields into scheduler.pt."""
    if kind not in CLOCK_SCHEDULES:
        raise ValueError(f"--max_train_seconds needs --lr_scheduler_type cosine or linear (its decay follows the "
                         f"clock), got {kind!r}")
    shape = CLOCK_SCHEDULES[kind]

    def factor(step: int) -> float:
        if step < warmup_steps:
            return step / max(1, warmup_steps)
        by_steps = (step - warmup_steps) / max(1, max_steps - warmup_steps)
        return max(0.0, shape(min(1.0, max(by_steps, timing.clock_s / timing.max_seconds))))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


__all__ = ["CLOCK_SCHEDULES", "TargetAndTiming", "clock_schedule"]
