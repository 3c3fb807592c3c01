"""Seeded arithmetic problems: sampling, problem-space sizes and disjoint splits. Pure functions of their arguments."""

import random
from collections.abc import Iterator

from .traces import OPERATIONS

Problem = tuple[str, int, int]  # (op, a, b)


def operand_range(digits: int, op: str, is_divisor: bool = False) -> tuple[int, int]:
    """Inclusive range of operands with exactly `digits` digits (0 counts as a 1-digit number, never a divisor)."""
    low = 10 ** (digits - 1) if digits > 1 else (1 if is_divisor and op == "/" else 0)
    return low, 10**digits - 1


def count_operands(min_digits: int, max_digits: int, op: str, is_divisor: bool = False) -> int:
    return sum(hi - lo + 1 for lo, hi in (operand_range(d, op, is_divisor) for d in range(min_digits, max_digits + 1)))


def problem_space_size(operations, min_digits: int, max_digits: int) -> int:
    return sum(
        count_operands(min_digits, max_digits, op) * count_operands(min_digits, max_digits, op, is_divisor=True)
        for op in operations
    )


def sample_problem(rng: random.Random, operations, min_digits: int, max_digits: int) -> Problem:
    """Operation uniform, then each operand's length uniform in [min_digits, max_digits], then its digits."""
    op = operations[rng.randrange(len(operations))]
    lo, hi = operand_range(rng.randint(min_digits, max_digits), op)
    a = rng.randint(lo, hi)
    lo, hi = operand_range(rng.randint(min_digits, max_digits), op, is_divisor=True)
    return op, a, rng.randint(lo, hi)


def all_problems(operations, min_digits: int, max_digits: int) -> Iterator[Problem]:
    for op in operations:
        a_lo, a_hi = operand_range(min_digits, op)[0], 10**max_digits - 1
        b_lo = operand_range(min_digits, op, is_divisor=True)[0]
        for a in range(a_lo, a_hi + 1):
            for b in range(b_lo, a_hi + 1):
                yield op, a, b


def draw_problems(rng: random.Random, n: int, operations, min_digits: int, max_digits: int,
                  exclude: set[Problem]) -> list[Problem]:
    """`n` distinct problems, none in `exclude`. Rejection sampling while that is cheap; when `n` is a large share of
    what is left, the remaining space is enumerated and shuffled instead (sampling would crawl, coupon-collector
    style). The caller checks first that the space is large enough."""
    remaining = problem_space_size(operations, min_digits, max_digits) - len(exclude)
    if n > remaining:
        raise ValueError(f"asked for {n} problems but only {remaining} remain in the problem space")
    if n <= remaining // 2:
        chosen: dict[Problem, None] = {}
        while len(chosen) < n:
            problem = sample_problem(rng, operations, min_digits, max_digits)
            if problem not in exclude:
                chosen[problem] = None
        return list(chosen)
    candidates = [p for p in all_problems(operations, min_digits, max_digits) if p not in exclude]
    rng.shuffle(candidates)
    return candidates[:n]


def split_problems(operations, min_digits: int, max_digits: int, sizes: dict[str, int], seed: int
                   ) -> dict[str, list[Problem]]:
    """Disjoint splits by construction. Each split has its own random stream, drawn in the order test, validation,
    train, so the test split depends only on the seed, the problem space and the test size."""
    splits, taken = {}, set()
    for name in ("test", "validation", "train"):
        rng = random.Random(f"{seed}-{name}")
        splits[name] = draw_problems(rng, sizes.get(name, 0), operations, min_digits, max_digits, taken)
        taken.update(splits[name])
    return splits


def fresh_problems(operations, min_digits: int, max_digits: int, exclude: set[Problem], seed: int
                   ) -> Iterator[Problem]:
    """An endless stream of problems (repeats allowed, seed 001 style) that never yields one from `exclude`."""
    if problem_space_size(operations, min_digits, max_digits) <= len(exclude):
        raise ValueError("every problem of this space is excluded; the stream would never yield")
    rng = random.Random(f"{seed}-stream")
    while True:
        problem = sample_problem(rng, operations, min_digits, max_digits)
        if problem not in exclude:
            yield problem


__all__ = ["OPERATIONS", "Problem", "all_problems", "draw_problems", "fresh_problems", "problem_space_size",
           "sample_problem", "split_problems"]
