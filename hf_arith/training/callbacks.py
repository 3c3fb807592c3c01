"""Trainer callbacks: stop at a validation target or a wall-clock budget, and keep a timed history."""

import json
import os
import time

from transformers import TrainerCallback

TIMING_FILE = "hf_arith_timing.json"


class TargetAndTiming(TrainerCallback):
    """Records wall time at every log and evaluation, stops training once `metric` reaches `target`, and stops it
    when `max_seconds` of training have passed. The clock counts what the Trainer's loop counts (evaluations
    included)."""

    def __init__(self, target: float | None, metric: str = "eval_exact_match", max_seconds: float | None = None):
        self.target, self.metric, self.max_seconds = target, metric, max_seconds
        self.stopped_by_budget = False
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
            with open(os.path.join(checkpoint, TIMING_FILE), "w") as f:
                json.dump({"history": self.history, "elapsed_s": self.elapsed(),
                           "seconds_to_target": self.seconds_to_target}, f)

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.perf_counter()

    def on_train_end(self, args, state, control, **kwargs):
        self.train_seconds = self.elapsed()

    def on_step_end(self, args, state, control, **kwargs):
        if self.max_seconds is not None and self.elapsed() >= self.max_seconds:
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


__all__ = ["TargetAndTiming"]
