"""Training: the resolved settings (arguments), presets, tasks, the answer-only collator and the Trainer wiring."""

from .arguments import DataArguments, ModelArguments, RunArguments, TrainSpec, parse_train_args
from .collator import AnswerOnlyCollator
from .run import TrainResults, train

__all__ = ["AnswerOnlyCollator", "DataArguments", "ModelArguments", "RunArguments", "TrainResults", "TrainSpec",
           "parse_train_args", "train"]
