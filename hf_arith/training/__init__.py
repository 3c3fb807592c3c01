"""Training and evaluation: answer-only collator, exact-match metrics, Trainer wiring, generation-based eval."""

from pathlib import Path

from .collator import AnswerOnlyCollator, encode
from .metrics import arith_metrics, preprocess_logits_for_metrics, teacher_forced_metrics

# evaluate.load(ARITH_ACCURACY_PATH) loads the metric module offline.
ARITH_ACCURACY_PATH = str(Path(__file__).parent / "arith_accuracy")

__all__ = ["ARITH_ACCURACY_PATH", "AnswerOnlyCollator", "arith_metrics", "encode", "preprocess_logits_for_metrics",
           "teacher_forced_metrics"]
