"""The stopping callback: a validation target and a wall-clock budget."""

from types import SimpleNamespace

import pytest

from hf_arith.training.callbacks import TargetAndTiming


def _control():
    return SimpleNamespace(should_training_stop=False)


def test_time_budget_stops_training():
    state = SimpleNamespace(global_step=3)
    timing = TargetAndTiming(target=None, max_seconds=1e-9)
    timing.on_train_begin(None, state, _control())
    control = _control()
    timing.on_step_end(None, state, control)
    assert control.should_training_stop and timing.stopped_by_budget
    relaxed = TargetAndTiming(target=None, max_seconds=None)
    relaxed.on_train_begin(None, state, _control())
    control = _control()
    relaxed.on_step_end(None, state, control)
    assert not control.should_training_stop and not relaxed.stopped_by_budget


def test_target_stops_training_and_records_when():
    state = SimpleNamespace(global_step=50)
    timing = TargetAndTiming(target=0.995, metric="eval_exact_match")
    timing.on_train_begin(None, state, _control())
    below = _control()
    timing.on_evaluate(None, state, below, metrics={"eval_exact_match": 0.99})
    assert not below.should_training_stop and timing.seconds_to_target is None
    reached = _control()
    timing.on_evaluate(None, state, reached, metrics={"eval_exact_match": 0.995})
    first = timing.seconds_to_target
    assert reached.should_training_stop and first is not None and first >= 0
    again = _control()
    timing.on_evaluate(None, state, again, metrics={"eval_exact_match": 1.0})
    assert again.should_training_stop and timing.seconds_to_target == first  # the first time it was reached
    # other metrics, or no target, never stop training
    untargeted = TargetAndTiming(target=None)
    untargeted.on_train_begin(None, state, _control())
    control = _control()
    untargeted.on_evaluate(None, state, control, metrics={"eval_exact_match": 1.0})
    assert not control.should_training_stop
    timing_loss = TargetAndTiming(target=0.5, metric="eval_exact_match")
    timing_loss.on_train_begin(None, state, _control())
    control = _control()
    timing_loss.on_evaluate(None, state, control, metrics={"eval_loss": 0.1})
    assert not control.should_training_stop


def _lrs(timing, steps, clock_at, kind="cosine", warmup=10, max_steps=100):
    import torch

    from hf_arith.training.callbacks import clock_schedule

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = clock_schedule(optimizer, kind, warmup, max_steps, timing)
    lrs = []
    for step in range(steps):
        timing.clock_s = clock_at(step)
        lrs.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    return lrs


def test_a_schedule_with_a_clock_behind_the_steps_is_transformers_own():
    import torch
    from transformers import get_cosine_schedule_with_warmup, get_linear_schedule_with_warmup

    for kind, reference in (("cosine", get_cosine_schedule_with_warmup), ("linear", get_linear_schedule_with_warmup)):
        timing = TargetAndTiming(target=None, max_seconds=1e9)
        ours = _lrs(timing, 100, lambda step: 0.0, kind)
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        theirs = reference(optimizer, 10, 100)
        expected = []
        for _ in range(100):
            expected.append(theirs.get_last_lr()[0])
            optimizer.step()
            theirs.step()
        assert ours == pytest.approx(expected, abs=1e-12), kind


def test_a_budget_that_runs_out_first_anneals_the_learning_rate_by_then():
    import math

    timing = TargetAndTiming(target=None, max_seconds=50.0)
    # one second per step: the budget (50 s) runs out at step 50 of 100 (each step's rate is set at the end of the
    # step before, from the clock then, as in the Trainer's loop)
    lrs = _lrs(timing, 52, lambda step: float(step))
    assert lrs[5] == pytest.approx(0.5)  # warm-up follows the steps
    assert lrs[30] == pytest.approx(0.5 * (1 + math.cos(math.pi * 29 / 50)))  # the clock is ahead: 29 s of 50
    assert lrs[50] < 0.001 and lrs[51] == pytest.approx(0.0, abs=1e-12)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))


def test_a_budget_needs_a_schedule_that_decays():
    timing = TargetAndTiming(target=None, max_seconds=5.0)
    with pytest.raises(ValueError, match="--max_train_seconds needs --lr_scheduler_type cosine or linear"):
        _lrs(timing, 1, lambda step: 0.0, kind="constant")


def test_the_clock_schedules_state_is_plain_so_resuming_reads_it_safely(tmp_path):
    import torch

    from hf_arith.training.callbacks import clock_schedule

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = clock_schedule(optimizer, "cosine", 5, 50, TargetAndTiming(target=None, max_seconds=10.0))
    for _ in range(7):
        optimizer.step()
        scheduler.step()
    torch.save(scheduler.state_dict(), tmp_path / "scheduler.pt")  # as the Trainer writes it
    state = torch.load(tmp_path / "scheduler.pt", weights_only=True)  # as the Trainer and check_resumable read it
    assert state["last_epoch"] == 7 and state["lr_lambdas"] == [None]  # a closure: nothing of it is pickled
