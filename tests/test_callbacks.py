"""The stopping callback: a validation target and a wall-clock budget."""

from types import SimpleNamespace

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
