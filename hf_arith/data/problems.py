"""Problem spaces and disjoint seeded splits. Pure functions of their arguments.

The test split draws operand LENGTHS uniformly (`lengths_problem`); training and validation draw from a mixture of
distributions (`distributions.Mixture`: lengths, values, full width, hard cases; operations weighted), so that the
validation check that stops training measures what training is for.
"""

import random
from collections.abc import Callable, Iterator
from fractions import Fraction

from .distributions import Problem, lengths_problem, operand_range

# Held-out splits (test and validation together) take at most this share of any cell (operation, digits of a,
# digits of b), each in proportion to its size. Lengths are sampled uniformly for the test split, so without a cap a
# 10,000-problem test split swallows every 1-digit problem (1x1 has 100) and training never sees one.
HELD_OUT_CELL_SHARE = 0.25
# The longest operand hf_arith draws or takes, whatever the model: a 1,000-digit problem is already thousands of tokens.
MAX_OPERAND_DIGITS = 1_000
Sampler = Callable[[random.Random], Problem]


def count_operands(min_digits: int, max_digits: int, op: str, is_divisor: bool = False) -> int:
    return sum(hi - lo + 1 for lo, hi in (operand_range(d, op, is_divisor) for d in range(min_digits, max_digits + 1)))


def problem_space_size(operations, min_digits: int, max_digits: int) -> int:
    return sum(count_operands(min_digits, max_digits, op) * count_operands(min_digits, max_digits, op, True)
               for op in operations)


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
    share = Fraction(HELD_OUT_CELL_SHARE)  # exact: a cell of 10**400 problems overflows a float
    return sum(int(share * n) for n in cell_sizes(operations, min_digits, max_digits).values())


def all_problems(operations, min_digits: int, max_digits: int) -> Iterator[Problem]:
    for op in operations:
        a_lo, top = operand_range(min_digits, op)[0], 10**max_digits - 1
        b_lo = operand_range(min_digits, op, is_divisor=True)[0]
        for a in range(a_lo, top + 1):
            for b in range(b_lo, top + 1):
                yield op, a, b


def draw_problems(rng: random.Random, n: int, sample: Sampler, space: Callable[[], Iterator[Problem]],
                  space_size: int, exclude: set[Problem], cell_quota: dict | None = None) -> list[Problem]:
    """`n` distinct problems drawn with `sample`, none in `exclude` and, with `cell_quota`, at most cell_quota[cell]
    from each cell (the dict is decremented). When rejection sampling stalls (the sampler's reachable problems, or
    a quota, are nearly used up: 2,000 rejections in a row), the rest is taken from the shuffled remaining space,
    uniformly over problems."""
    remaining = space_size - len(exclude)
    if cell_quota is not None:
        remaining = min(remaining, sum(cell_quota.values()))
    if n > remaining:
        raise ValueError(f"asked for {n} problems but only {remaining} remain in the problem space"
                         + (f" (held-out splits take at most {HELD_OUT_CELL_SHARE:.0%} of each operand-length cell)"
                            if cell_quota else ""))
    chosen: dict[Problem, None] = {}

    def admit(problem) -> bool:
        if problem in exclude or problem in chosen:
            return False
        if cell_quota is not None:
            cell = cell_of(problem)
            if cell_quota.get(cell, 0) <= 0:
                return False
            cell_quota[cell] -= 1
        chosen[problem] = None
        return True

    misses = 0
    while len(chosen) < n and misses < 2_000:
        misses = 0 if admit(sample(rng)) else misses + 1
    if len(chosen) < n:
        candidates = list(space())
        rng.shuffle(candidates)
        for problem in candidates:
            if len(chosen) == n:
                break
            admit(problem)
    return list(chosen)


def split_problems(operations, min_digits: int, max_digits: int, sizes: dict[str, int], seed: int,
                   train_sampler: Sampler | None = None) -> dict[str, list[Problem]]:
    """Disjoint splits by construction, each from its own random stream, drawn test -> validation -> train: the test
    split depends only on the seed, the problem space and its size. Test draws operand lengths uniformly; validation
    and train draw with `train_sampler` (default: the same lengths distribution). Test and validation each take at
    most their share (in proportion to their sizes) of HELD_OUT_CELL_SHARE of every operand-length cell, so every
    cell stays in training and both held-out splits represent every cell."""
    def lengths(rng):
        op = operations[rng.randrange(len(operations))]
        return lengths_problem(rng, op, min_digits, max_digits)

    samplers = {"test": lengths, "validation": train_sampler or lengths, "train": train_sampler or lengths}
    cells = cell_sizes(operations, min_digits, max_digits)
    held_out = sizes.get("test", 0) + sizes.get("validation", 0)
    space_size = problem_space_size(operations, min_digits, max_digits)
    splits, taken = {}, set()
    for name in ("test", "validation", "train"):
        rng = random.Random(f"{seed}-{name}")
        quota = None
        if name != "train":
            share = Fraction(HELD_OUT_CELL_SHARE) * sizes.get(name, 0) / max(held_out, 1)  # exact: cells may be huge
            quota = {cell: max(int(share * n), 1 if sizes.get(name, 0) else 0) for cell, n in cells.items()}
        splits[name] = draw_problems(rng, sizes.get(name, 0), samplers[name],
                                     lambda: all_problems(operations, min_digits, max_digits), space_size, taken,
                                     quota)
        taken.update(splits[name])
    return splits


def fresh_problems(sample: Sampler, space_size: int, exclude: set[Problem], seed: int) -> Iterator[Problem]:
    """An endless stream of problems (repeats allowed, seed 001 style) that never yields one from `exclude`."""
    if space_size <= len(exclude):
        raise ValueError("every problem of this space is excluded; the stream would never yield")
    rng = random.Random(f"{seed}-stream")
    while True:
        problem = sample(rng)
        if problem not in exclude:
            yield problem


__all__ = ["HELD_OUT_CELL_SHARE", "MAX_OPERAND_DIGITS", "Problem", "all_problems", "cell_of", "draw_problems",
           "fresh_problems", "held_out_capacity", "problem_space_size", "split_problems"]
