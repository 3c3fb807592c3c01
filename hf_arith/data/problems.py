"""Seeded arithmetic problems: sampling, problem-space sizes and disjoint splits. Pure functions of their arguments."""

import random
from collections.abc import Iterator

from .traces import OPERATIONS

Problem = tuple[str, int, int]  # (op, a, b)
# Held-out splits (test and validation together) take at most this share of any cell (operation, digits of a,
# digits of b). Lengths are sampled uniformly, so without a cap a 10,000-problem test split swallows every 1-digit
# problem (1x1 has 100) and training never sees one.
HELD_OUT_CELL_SHARE = 0.25


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


def digits_of(value: int) -> int:
    return len(str(value))


def cell_of(problem: Problem) -> tuple[str, int, int]:
    op, a, b = problem
    return op, digits_of(a), digits_of(b)


def cell_sizes(operations, min_digits: int, max_digits: int) -> dict[tuple[str, int, int], int]:
    sizes = {}
    for op in operations:
        for da in range(min_digits, max_digits + 1):
            lo, hi = operand_range(da, op)
            for db in range(min_digits, max_digits + 1):
                b_lo, b_hi = operand_range(db, op, is_divisor=True)
                sizes[op, da, db] = (hi - lo + 1) * (b_hi - b_lo + 1)
    return sizes


def held_out_capacity(operations, min_digits: int, max_digits: int) -> int:
    """The most problems the test and validation splits may hold together (HELD_OUT_CELL_SHARE of each cell)."""
    return sum(int(HELD_OUT_CELL_SHARE * n) for n in cell_sizes(operations, min_digits, max_digits).values())


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
                  exclude: set[Problem], cell_quota: dict | None = None) -> list[Problem]:
    """`n` distinct problems, none in `exclude`, and, with `cell_quota`, at most cell_quota[cell] from each cell
    (the quota dict is decremented). Rejection sampling while that is cheap; when `n` is a large share of what is
    left, the remaining space is enumerated and shuffled instead (sampling would crawl, coupon-collector style)."""
    remaining = problem_space_size(operations, min_digits, max_digits) - len(exclude)
    if cell_quota is not None:
        remaining = min(remaining, sum(cell_quota.values()))
    if n > remaining:
        raise ValueError(f"asked for {n} problems but only {remaining} remain in the problem space"
                         + (" (held-out splits take at most "
                            f"{HELD_OUT_CELL_SHARE:.0%} of each operand-length cell)" if cell_quota else ""))

    def admit(problem, chosen):
        if problem in exclude or problem in chosen:
            return False
        if cell_quota is not None:
            cell = cell_of(problem)
            if cell_quota[cell] <= 0:
                return False
            cell_quota[cell] -= 1
        return True

    chosen: dict[Problem, None] = {}
    if n <= remaining // 2:
        while len(chosen) < n:
            problem = sample_problem(rng, operations, min_digits, max_digits)
            if admit(problem, chosen):
                chosen[problem] = None
        return list(chosen)
    candidates = list(all_problems(operations, min_digits, max_digits))
    rng.shuffle(candidates)
    for problem in candidates:
        if len(chosen) == n:
            break
        if admit(problem, chosen):
            chosen[problem] = None
    return list(chosen)


def split_problems(operations, min_digits: int, max_digits: int, sizes: dict[str, int], seed: int
                   ) -> dict[str, list[Problem]]:
    """Disjoint splits by construction. Each split has its own random stream, drawn in the order test, validation,
    train, so the test split depends only on the seed, the problem space and the test size. Test and validation
    together take at most HELD_OUT_CELL_SHARE of each operand-length cell, so every cell stays in training."""
    splits, taken = {}, set()
    quota = {cell: int(HELD_OUT_CELL_SHARE * n) for cell, n in cell_sizes(operations, min_digits, max_digits).items()}
    for name in ("test", "validation", "train"):
        rng = random.Random(f"{seed}-{name}")
        splits[name] = draw_problems(rng, sizes.get(name, 0), operations, min_digits, max_digits, taken,
                                     quota if name != "train" else None)
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


__all__ = ["HELD_OUT_CELL_SHARE", "OPERATIONS", "Problem", "all_problems", "cell_of", "draw_problems", "fresh_problems",
           "held_out_capacity", "problem_space_size", "sample_problem", "split_problems"]
