"""Exact-match metrics for arithmetic completions, shared by training (teacher-forced) and generation-based eval.

`arith_metrics` scores strings; the `evaluate` module in `arith_accuracy/` wraps it for `evaluate.load(...)`.
`teacher_forced_metrics` scores the Trainer's argmax predictions token by token: with the same positions, greedy
generation produces the reference exactly when every argmax along it is right, so its exact match is the
generation exact match (tested on a trained model), at the cost of one forward pass.
"""

import math
from collections import defaultdict

import numpy as np
import torch

from ..data.traces import final_answer_text, parse_prompt


def _answer_text(completion: str, reference: str, fmt: str | None) -> str:
    # Without the format, the reference says where the answer is: after its last '=', or all of it.
    if fmt is None:
        fmt = "plain" if "=" not in reference else "cot"
    return final_answer_text(completion, fmt)


def arith_metrics(predictions: list[str], references: list[str], prompts: list[str] | None = None,
                  fmt: str | None = None) -> dict:
    """exact_match: whole completion right; answer_exact_match: final answer right (as the format defines it);
    char_accuracy: share of reference characters predicted at their position (seed 000 reports both); with prompts,
    by_digits ('digits of a x digits of b' -> exact match) and by_operation (operator -> exact match)."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    if not references:
        raise ValueError("no examples to score")
    exact = [p == r for p, r in zip(predictions, references)]
    answer = [_answer_text(p, r, fmt) == _answer_text(r, r, fmt) for p, r in zip(predictions, references)]
    chars_right = sum(sum(a == b for a, b in zip(p, r)) for p, r in zip(predictions, references))
    chars_total = sum(max(len(p), len(r)) for p, r in zip(predictions, references))
    result = {"exact_match": float(np.mean(exact)), "answer_exact_match": float(np.mean(answer)),
              "char_accuracy": chars_right / max(chars_total, 1)}
    if prompts is not None:
        result.update(breakdowns(prompts, exact))
    return result


def breakdowns(prompts: list[str], right: list[bool]) -> dict:
    """Exact match per operand-length cell ('3x2'), per operation, and per operation and cell (the heatmaps, one per
    operation, and the per-operation table)."""
    cells, operations, operation_cells = defaultdict(list), defaultdict(list), defaultdict(lambda: defaultdict(list))
    for prompt, ok in zip(prompts, right):
        a, op, b = parse_prompt(prompt)
        cell = f"{len(a.lstrip('0') or '0')}x{len(b.lstrip('0') or '0')}"
        cells[cell].append(ok)
        operations[op].append(ok)
        operation_cells[op][cell].append(ok)
    return {"by_digits": {key: float(np.mean(v)) for key, v in sorted(cells.items())},
            "by_operation": {op: float(np.mean(v)) for op, v in sorted(operations.items())},
            "by_operation_digits": {op: {key: float(np.mean(v)) for key, v in sorted(by_cell.items())}
                                    for op, by_cell in sorted(operation_cells.items())}}


def preprocess_logits_for_metrics(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Keeps only the argmax, shifted right by one so position t holds the prediction FOR token t."""
    predictions = logits.argmax(dim=-1)
    return torch.cat([torch.full_like(predictions[:, :1], -100), predictions[:, :-1]], dim=1)


def teacher_forced_metrics(tokenizer, fmt: str):
    """A `compute_metrics` for the Trainer: exact match, answer exact match and token accuracy over the label
    positions (the completion and its EOS). Compared as token ids, so EOS one step early or late is wrong."""
    equals_id = tokenizer.convert_tokens_to_ids("=")
    answer_only = fmt in ("plain", "reversed")

    def compute_metrics(eval_prediction) -> dict:
        predictions, labels = np.asarray(eval_prediction.predictions), np.asarray(eval_prediction.label_ids)
        exact, answer, right, total = [], [], 0, 0
        for predicted_row, label_row in zip(predictions, labels):
            keep = label_row != -100
            predicted, reference = predicted_row[keep], label_row[keep]
            same = predicted == reference
            exact.append(bool(same.all()))
            # the answer is the reference's tokens after its last '=' (all of them in the answer-only formats)
            equals = np.flatnonzero(reference == equals_id)
            start = 0 if answer_only or not len(equals) else equals[-1] + 1
            answer.append(bool(same[start:].all()))
            right, total = right + int(same.sum()), total + len(same)
        return {"exact_match": float(np.mean(exact)), "answer_exact_match": float(np.mean(answer)),
                "token_accuracy": right / max(total, 1), "num_examples": len(exact)}

    return compute_metrics


def percent(fraction: float, decimals: int = 2) -> str:
    """`fraction` as a percentage, rounded DOWN to `decimals`: 23 wrong of 999,000 reads 99.99, never 100.00 (which
    only a perfect score prints). The inner round absorbs float error, so 0.999 still reads 99.90."""
    scale = 10**decimals
    return f"{math.floor(round(100 * fraction * scale, 6)) / scale:.{decimals}f}"


__all__ = ["arith_metrics", "breakdowns", "percent", "preprocess_logits_for_metrics", "teacher_forced_metrics"]
