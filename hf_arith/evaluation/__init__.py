"""Evaluation: exact-match metrics, generation (greedy completions, sampling), scoring of problem lists, figures."""

from pathlib import Path

from .generation import Completion, generate_completions, sample_text
from .metrics import arith_metrics, preprocess_logits_for_metrics, teacher_forced_metrics
from .scoring import evaluate_problems, format_examples, score_completions

# evaluate.load(ARITH_ACCURACY_PATH) loads the metric module offline.
ARITH_ACCURACY_PATH = str(Path(__file__).parent / "arith_accuracy")

__all__ = ["ARITH_ACCURACY_PATH", "Completion", "arith_metrics", "evaluate_problems", "format_examples",
           "generate_completions", "preprocess_logits_for_metrics", "sample_text", "score_completions",
           "teacher_forced_metrics"]
