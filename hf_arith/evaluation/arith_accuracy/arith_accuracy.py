"""`evaluate` module for arithmetic completions; works offline:

    import evaluate, hf_arith.evaluation
    metric = evaluate.load(hf_arith.evaluation.ARITH_ACCURACY_PATH)
    metric.compute(predictions=["3201"], references=["3201"], prompts=["345+678="], fmt="reversed")
"""

import datasets
import evaluate

from hf_arith.evaluation.metrics import arith_metrics

_DESCRIPTION = ("Sequence exact match, final-answer exact match, answer-character accuracy and exact match by "
                "operand lengths and by operation for arithmetic completions (hf_arith).")
_KWARGS_DESCRIPTION = """
Args:
    predictions: generated completions (text after the prompt's '=', EOS removed).
    references: reference completions in the same format.
    prompts: the prompts, e.g. '345+678=', for the breakdowns by operand lengths and by operation.
    fmt: the trace format (optional): where the final answer is; without it, the reference's structure says.
Returns:
    exact_match, answer_exact_match, char_accuracy (floats in [0, 1]); with prompts also by_digits
    ({'3x2': float, ...}) and by_operation ({'+': float, ...}).
"""


class ArithAccuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("string"),
                                        "references": datasets.Value("string"),
                                        "prompts": datasets.Value("string")}),
        )

    def _compute(self, predictions, references, prompts, fmt=None):
        return arith_metrics(predictions, references, prompts, fmt=fmt)
