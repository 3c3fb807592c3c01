"""Exact-match metrics for arithmetic completions, shared by training (teacher-forced) and `hf-arith eval`.

`arith_metrics` is the one implementation; the `evaluate` module in `arith_accuracy/` wraps it for
`evaluate.load(...)`, and training calls it directly.
"""

import re
from collections import defaultdict

import numpy as np
import torch

PROMPT_PATTERN = re.compile(r"(\d+)([+\-*/])(\d+)=")


def final_answer(completion: str) -> str:
    """The text after the last '=': the final answer in every format (still reversed in the reversed format,
    which is fine for comparing a prediction with a reference written in the same format)."""
    return completion.rpartition("=")[2]


def arith_metrics(predictions: list[str], references: list[str], prompts: list[str] | None = None) -> dict:
    """exact_match: whole completion right; answer_exact_match: final answer right; char_accuracy: share of
    reference characters predicted at their position (seed 000 reports both); by_digits: exact match per
    'digits of a x digits of b' and by_operation: exact match per operator, when prompts are given."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    if not references:
        raise ValueError("no examples to score")
    exact = [p == r for p, r in zip(predictions, references)]
    answer = [final_answer(p) == final_answer(r) for p, r in zip(predictions, references)]
    chars_right = sum(sum(a == b for a, b in zip(p, r)) for p, r in zip(predictions, references))
    chars_total = sum(max(len(p), len(r)) for p, r in zip(predictions, references))
    result = {
        "exact_match": float(np.mean(exact)),
        "answer_exact_match": float(np.mean(answer)),
        "char_accuracy": chars_right / max(chars_total, 1),
    }
    if prompts is not None:
        groups, operations = defaultdict(list), defaultdict(list)
        for prompt, ok in zip(prompts, exact):
            match = PROMPT_PATTERN.match(prompt)
            if not match:
                raise ValueError(f"not an arithmetic prompt: {prompt!r}")
            groups[f"{len(match[1].lstrip('0') or '0')}x{len(match[3].lstrip('0') or '0')}"].append(ok)
            operations[match[2]].append(ok)
        result["by_digits"] = {key: float(np.mean(v)) for key, v in sorted(groups.items())}
        result["by_operation"] = {op: float(np.mean(v)) for op, v in sorted(operations.items())}
    return result


def preprocess_logits_for_metrics(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Keeps only the argmax, shifted right by one so position t holds the prediction FOR token t. Greedy
    generation takes the same argmax at every answer position, so teacher-forced exact match equals
    generation exact match (and one forward pass per batch is enough)."""
    predictions = logits.argmax(dim=-1)
    return torch.cat([torch.full_like(predictions[:, :1], -100), predictions[:, :-1]], dim=1)


def completion_texts(token_ids, labels, id_to_token: dict[int, str], eos_token_id: int) -> list[str]:
    """Strings at the label positions of each row; EOS is the empty string, any other special token stays visible so
    a misplaced one cannot look right."""
    texts = []
    for row_ids, row_labels in zip(token_ids, labels):
        keep = row_labels != -100
        texts.append("".join("" if i == eos_token_id else id_to_token.get(int(i), "?") for i in row_ids[keep]))
    return texts


def prompt_texts(input_ids, labels, tokenizer) -> list[str]:
    prompts = []
    for row_ids, row_labels in zip(input_ids, labels):
        keep = (row_labels == -100) & (row_ids != tokenizer.pad_token_id) & (row_ids >= 0)
        prompts.append(tokenizer.decode(row_ids[keep].tolist()))
    return prompts


def teacher_forced_metrics(tokenizer, by_digits: bool = False):
    """A `compute_metrics` for the Trainer (with `include_for_metrics=["inputs"]` when by_digits is wanted)."""
    id_to_token = {i: t for t, i in tokenizer.get_vocab().items()}

    def compute_metrics(eval_prediction) -> dict:
        predictions, labels = np.asarray(eval_prediction.predictions), np.asarray(eval_prediction.label_ids)
        predicted = completion_texts(predictions, labels, id_to_token, tokenizer.eos_token_id)
        references = completion_texts(labels, labels, id_to_token, tokenizer.eos_token_id)
        prompts = None
        if by_digits and eval_prediction.inputs is not None:
            prompts = prompt_texts(np.asarray(eval_prediction.inputs), labels, tokenizer)
        result = arith_metrics(predicted, references, prompts)
        flat = {k: v for k, v in result.items() if k not in ("by_digits", "by_operation")}
        flat.update({f"exact_match_{k}": v for k, v in result.get("by_digits", {}).items()})
        return flat

    return compute_metrics
