"""Generation-based scoring of a model on a list of problems (a suite, or a split): exact match, step-level verdicts
of `verify_trace` in the model's own format, the problems it saw in training, and the wrong answers."""

import time
from collections import Counter

from ..batching import encode
from ..data.suites import CELL_SIZE, division_case, suite_problems
from ..data.traces import GUESS_LAYOUTS, division_layout, make_trace
from ..data.verify import verify_trace
from .generation import Completion, generate_completions, greedy_reproduces
from .metrics import arith_metrics, breakdowns, percent

Problem = tuple[str, int, int]  # (op, a, b)


def first_difference(prediction: str, reference: str) -> int:
    for i, (p, r) in enumerate(zip(prediction, reference)):
        if p != r:
            return i
    return min(len(prediction), len(reference))


def has_guesses(fmt: str) -> bool:
    """Whether `fmt` has more than one valid trace per problem (the check layouts of ÷: a guess one off, corrected)."""
    return fmt.startswith("cot") and division_layout(fmt) in GUESS_LAYOUTS


def score_completions(prompts: list[str], completions: list, references: list[str], fmt: str,
                      problems: list[Problem] | None = None, train_keys: set | None = None,
                      num_examples: int = 5) -> dict:
    """Scores generated `Completion`s against reference completions written in `fmt`.

    With `train_keys` (the (op, a, b) of the training split) it also reports how many problems were trained on and
    the exact match on the others. Wrong answers keep the position of their first wrong character.
    """
    texts = [c.text for c in completions]
    metrics = arith_metrics(texts, references, fmt=fmt)
    right = [t == r for t, r in zip(texts, references)]
    # A trace equal to the reference is valid (the writers are checked against the verifier in the tests); only the
    # others are verified, which keeps a million-problem suite fast.
    verdicts = {i: verify_trace(prompts[i], texts[i], fmt) for i, ok in enumerate(right) if not ok}
    if has_guesses(fmt):
        # A division that guessed one off and corrected it is a different trace from the reference (which guesses
        # right) and just as right: exact match is then "every step valid and the answer right".
        for i, verdict in verdicts.items():
            right[i] = verdict.valid and verdict.answer_correct and completions[i].finished
        metrics["exact_match"] = sum(right) / len(right)
        metrics["corrected_guesses"] = sum(right[i] for i in verdicts)
    metrics.update(breakdowns(prompts, right))
    wrong = [i for i, ok in enumerate(right) if not ok]
    verdicts = {i: verdicts[i] for i in wrong}
    n = len(prompts)
    metrics["verified_trace_valid"] = (sum(right) + sum(v.valid for v in verdicts.values())) / n
    metrics["verified_answer_correct"] = (sum(right) + sum(v.answer_correct for v in verdicts.values())) / n
    metrics["first_error_step_counts"] = dict(sorted(Counter(
        v.first_error_step for v in verdicts.values() if v.first_error_step is not None).items()))
    metrics["unfinished"] = sum(not c.finished for c in completions)
    metrics["num_problems"] = n
    if problems is not None and any(op == "/" for op, _, _ in problems):
        cases: dict[str, list[bool]] = {}
        for (op, a, b), ok in zip(problems, right):
            if op == "/":
                for case in division_case(a, b):
                    cases.setdefault(case, []).append(ok)
        metrics["by_division_case"] = {case: sum(v) / len(v) for case, v in sorted(cases.items())}
        metrics["division_case_counts"] = {case: len(v) for case, v in sorted(cases.items())}
    metrics["worst_cell"] = worst_cell(metrics)
    if metrics.get("by_division_case"):
        case, value = min(metrics["by_division_case"].items(), key=lambda item: item[1])
        metrics["worst_division_case"] = {"case": case, "exact_match": value}
    if train_keys is not None and problems is not None:
        seen = [p in train_keys for p in problems]
        metrics["num_in_train"] = sum(seen)
        unseen = [ok for ok, s in zip(right, seen) if not s]
        metrics["exact_match_unseen"] = sum(unseen) / len(unseen) if unseen else None
    metrics["wrong_examples"] = [
        dict(prompt=prompts[i], prediction=texts[i], reference=references[i],
             first_wrong=first_difference(texts[i], references[i]), reason=completions[i].reason)
        for i in wrong[:num_examples]]
    metrics["right_examples"] = [dict(prompt=prompts[i], prediction=texts[i])
                                 for i in [i for i, ok in enumerate(right) if ok][:min(num_examples, 3)]]
    return metrics


def worst_cell(metrics: dict) -> dict:
    """The lowest exact match over every (operation, operand-length cell): the figure a calculator is judged by (the
    division cases have their own, `worst_division_case`)."""
    cells = [(v, op, cell) for op, by_cell in metrics["by_operation_digits"].items() for cell, v in by_cell.items()]
    value, op, cell = min(cells, key=lambda c: c[0])
    return {"operation": op, "cell": cell, "exact_match": value}


def evaluate_problems(model, tokenizer, problems: list[Problem], fmt: str, pad_width: int | None,
                      train_keys: set | None = None, batch_size: int = 1000, num_examples: int = 5,
                      certify: bool = True) -> dict:
    """Greedy generation on `problems` (each with a budget of its own trace's length plus EOS), scored.

    With `certify`, one forward pass over each reference trace first proves which problems greedy decoding gets
    exactly right (`greedy_reproduces`); only the others are generated. The scores are those of generating every
    problem (tested); a 141-token division costs one pass instead of 141 decoding steps. `certified` counts the
    problems the pass settled.
    """
    if not problems:
        raise ValueError("no problems to evaluate")
    start = time.perf_counter()
    traces = [make_trace(a, op, b, fmt, pad_width) for op, a, b in problems]
    prompts, references = [p for p, _ in traces], [c for _, c in traces]
    known = (greedy_reproduces(model, tokenizer, prompts, references, batch_size) if certify
             else [False] * len(problems))
    rest = [i for i, k in enumerate(known) if not k]
    generated = generate_completions(model, tokenizer, [prompts[i] for i in rest],
                                     [len(encode(tokenizer, references[i])) + 1 for i in rest], batch_size)
    completions = [Completion(reference, True) if k else None for k, reference in zip(known, references)]
    for i, completion in zip(rest, generated):
        completions[i] = completion
    metrics = score_completions(prompts, completions, references, fmt, problems, train_keys, num_examples)
    metrics["certified"] = len(problems) - len(rest)
    metrics["seconds"] = time.perf_counter() - start
    metrics["problems_per_s"] = len(problems) / metrics["seconds"]
    return metrics


def dataset_problems(dataset) -> list[Problem]:
    """The (op, a, b) of a split of ArithmeticTraces."""
    return [(op, int(a), int(b)) for op, a, b in zip(dataset["op"], dataset["a"], dataset["b"])]


def evaluate_suites(model, tokenizer, settings, names: list[str], splits, size: int = 10_000,
                    batch_size: int = 1000, digits: int | None = None, cell_size: int = CELL_SIZE,
                    certify: bool = True) -> dict[str, dict]:
    """Scores the named suites for a model trained on `settings` (ArithmeticDataSettings): `test` and `validation`
    are the dataset's splits, the others are drawn for the model's operations and digit count (or `digits`: a hard
    suite of 100-digit problems for a model trained on 20). Every suite reports how many of its problems were in the
    training split (`splits["train"]`) and the exact match on the others."""
    train_keys = set(dataset_problems(splits["train"])) if "train" in splits else None
    results = {}
    for name in names:
        problems = (dataset_problems(splits[name]) if name in ("test", "validation")
                    else suite_problems(name, settings.operations, digits or settings.max_digits, size,
                                        cell_size=cell_size))
        results[name] = evaluate_problems(model, tokenizer, problems, settings.format, settings.pad_width,
                                          train_keys, batch_size, certify=certify)
    return results


def suite_line(name: str, m: dict) -> str:
    """One line per suite: exact match, problems, share seen in training, and per operation when there are several."""
    line = f"{name:<11} exact match {percent(m['exact_match'], 3):>7} %  ({m['num_problems']:,} problems"
    if m.get("num_in_train") is not None:
        unseen = m["exact_match_unseen"]
        line += (f", {m['num_in_train']:,} in training; unseen "
                 + (f"{percent(unseen, 3)} %" if unseen is not None else "none"))
    line += f"; {m['problems_per_s']:,.0f} problems/s)"
    if m.get("unfinished"):
        line += f"  {m['unfinished']} unfinished"
    if len(m["by_operation"]) > 1:
        line += "  " + ", ".join(f"{op} {percent(v)} %" for op, v in m["by_operation"].items())
    if name == "cells" and m.get("worst_cell"):
        worst = m["worst_cell"]
        line += f"  worst cell {worst['operation']} {worst['cell']} {percent(worst['exact_match'])} %"
    if name == "division_cases" and m.get("by_division_case"):
        line += "  " + ", ".join(f"{case} {percent(v)} %" for case, v in m["by_division_case"].items())
    return line


def format_examples(metrics: dict) -> str:
    """A few right answers, then wrong ones with a caret under the first wrong character (seed 000's display)."""
    lines = [f"  ok    {ex['prompt']}{ex['prediction']}" for ex in metrics["right_examples"]]
    for ex in metrics["wrong_examples"]:
        lines.append(f"  WRONG {ex['prompt']}{ex['prediction']}   (expected {ex['reference']})"
                     + (f"  [{ex['reason']}]" if ex.get("reason") else ""))
        lines.append("        " + " " * (len(ex["prompt"]) + ex["first_wrong"]) + "^")
    return "\n".join(lines)


__all__ = ["dataset_problems", "evaluate_problems", "evaluate_suites", "first_difference", "format_examples",
           "score_completions", "suite_line", "worst_cell"]
