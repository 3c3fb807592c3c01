"""Evaluation suites: the problems people actually ask, each drawn from its own seeded stream.

    uniform     both operands uniform over their values [0, 10^d) (divisor >= 1): the notebooks' distribution,
                where most problems are full width
    full_width  both operands exactly d digits
    hard        adversarial cases per operation (see `hard_problem`)
    edge        0, 1, the largest operand, every combination of those, and equal operands
    exhaustive  every problem of the space, when it has at most 2,000,000
    exhaustive_add / _sub / _mul / _div   every problem of one operation (the 999,000 three-digit divisions)
    cells       `cell_size` problems in every (operation, digits of a, digits of b) cell, a small cell whole, each
                cell uniform over its problems: the worst cell is the figure
    division_cases   `cell_size` divisions of each case a = b, b = 1, remainder 0, remainder b - 1
                (`DIVISION_CASES`; operand lengths uniform), scored per case
    length_N    both operands exactly N digits (`length_problems`), for length generalization
    hard_N      the `hard` cases with operands of up to N digits (carry chains of every length up to N + 1)

The test split of ArithmeticTraces (operand LENGTHS uniform) is the suite `test`; it is read from the dataset.
Suites may share problems with the training split; the scores report how many (never hidden, never dropped).
"""

import random
from collections.abc import Callable

from . import distributions
from .distributions import Problem, values_problem
from .problems import MAX_OPERAND_DIGITS, all_problems, problem_space_size

OPERATION_NAMES = {"+": "add", "-": "sub", "*": "mul", "/": "div"}
EXHAUSTIVE_OF = {f"exhaustive_{name}": op for op, name in OPERATION_NAMES.items()}  # one operation's whole space
SUITES = ("test", "uniform", "full_width", "hard", "edge", "cells", "division_cases", "exhaustive", *EXHAUSTIVE_OF)
CELL_SIZE = 1_000
DEFAULT_SUITES = ("test", "uniform", "full_width", "hard", "edge")
EXHAUSTIVE_LIMIT = 2_000_000
# The most problems one suite may hold (held in memory, then generated): beyond it a run would end in MemoryError
# or run for days, so it is refused before any work.
SUITE_LIMIT = 2_000_000


def uniform_problem(rng: random.Random, op: str, max_digits: int) -> Problem:
    return values_problem(rng, op, 1, max_digits)


def full_width_problem(rng: random.Random, op: str, max_digits: int) -> Problem:
    return values_problem(rng, op, max_digits, max_digits)


def hard_problem(rng: random.Random, op: str, max_digits: int) -> Problem:
    return distributions.hard_problem(rng, op, 1, max_digits)


def edge_problems(operations: str, max_digits: int) -> list[Problem]:
    """0, 1 and the largest operand in every combination, plus equal operands (the same values and 10^(d-1), and
    ten more drawn from a fixed stream)."""
    largest = 10**max_digits - 1
    values = sorted({0, 1, largest})
    rng = random.Random(f"edge-{max_digits}")
    equal = sorted({*values, 10 ** (max_digits - 1), *(rng.randrange(10**max_digits) for _ in range(10))})
    problems = []
    for op in operations:
        pairs = [(a, b) for a in values for b in values] + [(v, v) for v in equal]
        problems += [(op, a, b) for a, b in dict.fromkeys(pairs) if not (op == "/" and b == 0)]
    return problems


def _distinct(draw: Callable[[random.Random], Problem], n: int, rng: random.Random, space: int) -> list[Problem]:
    """Up to `n` distinct draws (all of them when the generator's reachable space is smaller: 2,000 fruitless draws
    in a row end the search)."""
    chosen: dict[Problem, None] = {}
    misses = 0
    while len(chosen) < min(n, space) and misses < 2_000:
        problem = draw(rng)
        if problem in chosen:
            misses += 1
        else:
            chosen[problem], misses = None, 0
    return list(chosen)


def division_case(a: int, b: int) -> list[str]:
    """The division cases a problem a / b belongs to (several, or none): the ones a calculator gets wrong first."""
    r = a % b
    return [case for case, holds in (("a=b", a == b), ("b=1", b == 1), ("r=0", r == 0), ("r=b-1", r == b - 1),
                                     ("a<b", a < b)) if holds]


def _division_case_draws(rng: random.Random, case: str, d: int) -> Problem:
    """One division of the case, operands of 1..d digits (the lengths uniform, as in the cells)."""
    return ("/", *distributions.division_case_problem(rng, case, d))


DIVISION_CASES = ("a=b", "b=1", "r=0", "r=b-1")


def cells_problems(operations: str, max_digits: int, cell_size: int = CELL_SIZE, seed: int = 0) -> list[Problem]:
    """`cell_size` distinct problems in every (operation, digits of a, digits of b) cell, uniform over the cell
    (every problem of a cell that has fewer). 0 is a 1-digit number; a divisor is never 0."""
    _check_arguments(operations, max_digits=max_digits, cell_size=cell_size)
    problems: dict[Problem, None] = {}
    for op in operations:
        for da in range(1, max_digits + 1):
            for db in range(1, max_digits + 1):
                (a_low, a_high), (b_low, b_high) = (distributions.operand_range(da, op),
                                                    distributions.operand_range(db, op, is_divisor=True))
                a_range, b_range = range(a_low, a_high + 1), range(b_low, b_high + 1)
                if len(a_range) * len(b_range) <= cell_size:
                    problems.update(((op, a, b), None) for a in a_range for b in b_range)
                    continue
                rng = random.Random(f"{seed}-cells-{op}-{da}x{db}")

                def draw(r, a_range=a_range, b_range=b_range, op=op):
                    return op, r.choice(a_range), r.choice(b_range)

                problems.update((p, None) for p in _distinct(draw, cell_size, rng, len(a_range) * len(b_range)))
    return list(problems)


def division_case_problems(max_digits: int, cell_size: int = CELL_SIZE, seed: int = 0) -> list[Problem]:
    """`cell_size` distinct divisions of each case in DIVISION_CASES (every one when fewer exist)."""
    _check_arguments("/", max_digits=max_digits, cell_size=cell_size)
    problems: dict[Problem, None] = {}
    for case in DIVISION_CASES:
        rng = random.Random(f"{seed}-division-{case}-{max_digits}")
        space = {"a=b": 10**max_digits - 1, "b=1": 10**max_digits}.get(case, 10 ** (2 * max_digits))
        problems.update((p, None) for p in _distinct(
            lambda r, case=case: _division_case_draws(r, case, max_digits), cell_size, rng, space))
    return list(problems)


def suite_problems(name: str, operations: str, max_digits: int, size: int = 10_000, seed: int = 0,
                   cell_size: int = CELL_SIZE) -> list[Problem]:
    """The problems of suite `name` for a model of these operations and operand digits; `size` problems per
    operation (distinct) for the drawn suites, `cell_size` per cell for `cells`. The `test` suite is the dataset's
    test split, not drawn here."""
    _check_arguments(operations, max_digits=max_digits, size=size, cell_size=cell_size)
    if length_of(name) is not None:
        return length_problems(length_of(name), operations, size, seed)
    if length_of(name, "hard") is not None:
        # the hard cases at a length of their own (beyond the training range, for length generalization)
        name, max_digits = "hard", length_of(name, "hard")
    if name == "edge":
        return edge_problems(operations, max_digits)
    if name == "cells":
        return cells_problems(operations, max_digits, cell_size, seed)
    if name == "division_cases":
        if "/" not in operations:
            raise ValueError(f"suite 'division_cases' scores '/', which this model was not trained on ({operations!r})")
        return division_case_problems(max_digits, cell_size, seed)
    if name in EXHAUSTIVE_OF:
        op = EXHAUSTIVE_OF[name]
        if op not in operations:
            raise ValueError(f"suite {name!r} scores {op!r}, which this model was not trained on ({operations!r})")
        return list(all_problems(op, 1, max_digits))
    if name == "exhaustive":
        space = problem_space_size(operations, 1, max_digits)
        if space > EXHAUSTIVE_LIMIT:
            raise ValueError(f"the exhaustive suite has {space:,} problems for operations={operations!r} with "
                             f"{max_digits} digits, more than {EXHAUSTIVE_LIMIT:,}")
        return list(all_problems(operations, 1, max_digits))
    generators = {"uniform": uniform_problem, "full_width": full_width_problem, "hard": hard_problem}
    if name not in generators:
        raise ValueError(f"unknown suite {name!r}; expected one of {SUITES}")
    problems = []
    for op in operations:
        rng = random.Random(f"{seed}-suite-{name}-{op}-{max_digits}")
        if name != "hard" and _value_space(name, op, max_digits) <= size:
            problems += _all_values(name, op, max_digits)  # a small space is enumerated, not sampled
        else:
            problems += _distinct(lambda r, op=op: generators[name](r, op, max_digits), size, rng,
                                  problem_space_size(op, 1, max_digits))
    return problems


def _operand_values(name: str, op: str, d: int, divisor: bool) -> range:
    low = 10 ** (d - 1) if name == "full_width" and d > 1 else 0
    return range(max(low, 1) if divisor and op == "/" else low, 10**d)


def _value_space(name: str, op: str, d: int) -> int:
    return len(_operand_values(name, op, d, False)) * len(_operand_values(name, op, d, True))


def _all_values(name: str, op: str, d: int) -> list[Problem]:
    return [(op, a, b) for a in _operand_values(name, op, d, False) for b in _operand_values(name, op, d, True)]


def _check_arguments(operations, **counts) -> None:
    """ValueError naming a bad argument of the suite functions (an empty or negative size drew nothing before)."""
    if not isinstance(operations, str) or not operations or any(op not in "+-*/" for op in operations):
        raise ValueError(f"operations must be characters from '+-*/', got {operations!r}")
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")


def check_suites(names: list[str], operations: str, max_digits: int, widest: int, size: int = 10_000,
                 cell_size: int = CELL_SIZE) -> None:
    """ValueError naming the first suite that cannot be scored for this model (an operation it lacks, operands wider
    than `widest`, the longest it takes, or more problems than SUITE_LIMIT), before anything is drawn or trained."""
    widest = min(widest, MAX_OPERAND_DIGITS)
    for name in names:
        length = length_of(name) or length_of(name, "hard")
        if length is not None and length > widest:
            raise ValueError(f"suite {name!r} has {length}-digit operands; this model takes at most {widest}")
        op = "/" if name == "division_cases" else EXHAUSTIVE_OF.get(name)
        if op is not None and op not in operations:
            raise ValueError(f"suite {name!r} scores {op!r}, which this model was not trained on ({operations!r})")
        if name in EXHAUSTIVE_OF or name == "exhaustive":
            space = problem_space_size(op or operations, 1, max_digits)
            if space > EXHAUSTIVE_LIMIT:
                raise ValueError(f"suite {name!r} has {space:,} problems for {max_digits}-digit operands, more than "
                                 f"{EXHAUSTIVE_LIMIT:,}")
        drawn = {"cells": cell_size * len(operations) * max_digits**2,
                 "division_cases": cell_size * len(DIVISION_CASES)}.get(name, size * len(operations))
        if name not in ("test", "validation", "edge") and name not in EXHAUSTIVE_OF and name != "exhaustive" \
                and drawn > SUITE_LIMIT:
            raise ValueError(f"suite {name!r} would draw {drawn:,} problems, more than {SUITE_LIMIT:,}: lower "
                             f"--{'cell_size' if name in ('cells', 'division_cases') else 'suite_size'}")


def length_problems(length: int, operations: str = "+", size: int = 1_000, seed: int = 0) -> list[Problem]:
    """`size` distinct problems per operation whose operands both have exactly `length` digits."""
    _check_arguments(operations, length=length, size=size)
    problems = []
    for op in operations:
        rng = random.Random(f"{seed}-length-{op}-{length}")
        problems += _distinct(lambda r, op=op: full_width_problem(r, op, length), size, rng,
                              (9 * 10 ** (length - 1)) ** 2 if length > 1 else 100)
    return problems


def length_of(name: str, kind: str = "length") -> int | None:
    """'length_100' -> 100 (the suite of 100-digit operands), and with kind="hard" 'hard_100' -> 100; None for the
    other suites."""
    head, _, digits = name.partition("_")
    return int(digits) if head == kind and digits.isdigit() and int(digits) > 0 else None


def parse_suite_names(text: str) -> list[str]:
    """'test,uniform,length_100' -> ['test', 'uniform', 'length_100']; ValueError naming an unknown suite."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in (*SUITES, "validation") and length_of(name) is None
               and length_of(name, "hard") is None]
    if unknown or not names:
        raise ValueError(f"unknown suite {unknown[0] if unknown else text!r}; expected names from "
                         f"{(*SUITES, 'validation')}, length_N or hard_N")
    return names


__all__ = ["CELL_SIZE", "DEFAULT_SUITES", "DIVISION_CASES", "MAX_OPERAND_DIGITS", "SUITES", "SUITE_LIMIT",
           "check_suites", "cells_problems", "division_case",
           "division_case_problems", "edge_problems", "full_width_problem", "hard_problem", "length_of",
           "length_problems", "parse_suite_names", "suite_problems", "uniform_problem"]
