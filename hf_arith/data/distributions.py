"""Where problems come from: seeded samplers of (op, a, b), one per distribution, and weighted mixtures of them.

    lengths     each operand's LENGTH uniform in [min_digits, max_digits], then its digits (the `test` split)
    values      each operand's VALUE uniform (the notebooks' randint(0, 10^d - 1)): most are full width
    full_width  both operands exactly max_digits digits
    hard        adversarial cases per operation (`hard_problem`)
    cases       for ÷, the cases a calculator gets wrong first, each equally likely (`case_problem`); the other
                operations draw from `hard`

Every sampler is a pure function of its `random.Random`; a divisor is never 0.
"""

import random
from collections.abc import Callable

Problem = tuple[str, int, int]  # (op, a, b)
DISTRIBUTIONS = ("lengths", "values", "full_width", "hard", "cases")
# The division cases of the `cases` distribution, drawn in equal shares.
DIVISION_CASE_KINDS = ("a=b", "b=1", "r=0", "r=b-1", "one-digit b", "quotient digits 0 and 9")


def operand_range(digits: int, op: str, is_divisor: bool = False) -> tuple[int, int]:
    """Inclusive range of operands with exactly `digits` digits (0 counts as a 1-digit number, never a divisor)."""
    low = 10 ** (digits - 1) if digits > 1 else (1 if is_divisor and op == "/" else 0)
    return low, 10**digits - 1


def lengths_problem(rng: random.Random, op: str, min_digits: int, max_digits: int) -> Problem:
    """Each operand's length uniform in [min_digits, max_digits], then its digits."""
    lo, hi = operand_range(rng.randint(min_digits, max_digits), op)
    a = rng.randint(lo, hi)
    lo, hi = operand_range(rng.randint(min_digits, max_digits), op, is_divisor=True)
    return op, a, rng.randint(lo, hi)


def values_problem(rng: random.Random, op: str, min_digits: int, max_digits: int) -> Problem:
    """Both operands uniform over the values of min_digits..max_digits digits (a divisor >= 1)."""
    low = operand_range(min_digits, op)[0]
    return op, rng.randint(low, 10**max_digits - 1), rng.randint(max(low, op == "/"), 10**max_digits - 1)


def full_width_problem(rng: random.Random, op: str, min_digits: int, max_digits: int) -> Problem:
    return values_problem(rng, op, max_digits, max_digits)


def _number(digits: list[int]) -> int:
    return int("".join(map(str, digits))) if digits else 0


def _carry_chain(rng: random.Random, d: int) -> tuple[int, int]:
    """a + b whose carry starts in one column and runs through the next L-1 columns (a_i + b_i = 9), L uniform in
    1..d; a chain that reaches the top column gives a (d+1)-digit sum."""
    length = rng.randint(1, d)
    start = rng.randint(0, d - length)  # column of the generating carry, least significant = 0
    a, b = [0] * d, [0] * d
    for column in range(d):
        if column == start:
            a[column] = rng.randint(1, 9)
            b[column] = rng.randint(10 - a[column], 9)  # a + b >= 10: a carry
        elif start < column < start + length:
            a[column] = rng.randint(0, 9)
            b[column] = 9 - a[column]  # a + b = 9: the carry passes through
        elif column == start + length:
            a[column] = rng.randint(0, 8)
            b[column] = rng.randint(0, 8 - a[column])  # the chain stops here
        else:
            a[column], b[column] = rng.randint(0, 9), rng.randint(0, 9)
    return _number(a[::-1]), _number(b[::-1])


def _hard_addition(rng: random.Random, d: int) -> tuple[int, int]:
    kind = rng.random()
    if kind < 0.6:
        a, b = _carry_chain(rng, d)
    elif kind < 0.75:
        a, b = 10 ** rng.randint(1, d) - 1, rng.randint(1, 10 ** rng.randint(1, d) - 1)  # 999 + 1, 99 + 57 ...
    elif kind < 0.85:
        a, b = 10 ** rng.randint(1, d) - 1, 10 ** rng.randint(1, d) - 1  # 99 + 999, 999 + 999
    else:
        nines = rng.randint(1, d - 1) if d > 1 else 1  # a run of 9s inside a number
        a = _number([rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(d - nines - 1)] + [9] * nines)
        b = rng.randint(1, 10 ** rng.randint(1, nines) - 1)
    return (a, b) if rng.random() < 0.5 else (b, a)


def _hard_subtraction(rng: random.Random, d: int) -> tuple[int, int]:
    kind = rng.random()
    top = 10**d - 1
    if kind < 0.25:  # a borrow through a run of zeros: 1000 - 1, 50004 - 7
        zeros = rng.randint(1, d - 1) if d > 1 else 1
        head = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(max(d - zeros, 1) - 1)]
        a = min(_number(head) * 10**zeros + rng.randint(0, 9) * (rng.random() < 0.3), top)
        return a, rng.randint(1, 10 ** min(zeros + 1, d) - 1)
    if kind < 0.4:  # close operands: results with leading zeros (in a padded answer)
        a = rng.randint(10 ** (d - 1), top)
        return a, max(0, a - rng.randint(0, 10 ** rng.randint(0, max(d - 2, 0))))
    if kind < 0.6:  # a sign change: b just above a, or far above
        a = rng.randint(0, top - 1)
        return a, rng.randint(a + 1, min(top, a + 10 ** rng.randint(0, d)))
    if kind < 0.75 and d > 1:  # equal low digits (707 - 7, 311 - 611): a - b is a multiple of 10^j, so the
        j = rng.randint(1, d - 1)  # complement pass of a negative result starts with zeros and no borrow
        low = rng.randint(0, 10**j - 1)
        return rng.randint(0, 10 ** (d - j) - 1) * 10**j + low, rng.randint(0, 10 ** (d - j) - 1) * 10**j + low
    if kind < 0.85:
        a = rng.randint(0, top)
        return a, a  # zero
    return rng.choice([0, rng.randint(0, 9)]), rng.randint(10 ** (d - 1), top)  # a small a, a long negative result


def _dense_in_8s_and_9s(rng: random.Random, d: int) -> int:
    return _number([rng.choice([8, 9]) if rng.random() < 0.8 else rng.randint(0, 9) for _ in range(d)])


def _inner_zeros(rng: random.Random, d: int) -> int:
    return _number([rng.randint(1, 9)] + [0 if rng.random() < 0.5 else rng.randint(1, 9) for _ in range(d - 1)])


def _hard_multiplication(rng: random.Random, d: int) -> tuple[int, int]:
    kind = rng.random()
    if kind < 0.6:  # dense in 8s and 9s: the largest partial products and carries
        return _dense_in_8s_and_9s(rng, d), _dense_in_8s_and_9s(rng, d)
    if kind < 0.75:
        return 10**d - 1, rng.randint(1, 10**d - 1)  # 999 x b
    if kind < 0.9:  # zeros inside: partial products that are zero between others
        return _inner_zeros(rng, d), _inner_zeros(rng, d)
    return rng.randint(0, 10**d - 1), rng.choice([0, 1, 10 ** (d - 1)])


def _hard_division(rng: random.Random, d: int) -> tuple[int, int]:
    top = 10**d - 1
    kind = rng.random()
    b = rng.randint(1, top)
    if kind < 0.35:  # a quotient with inner zeros: 105, 1002, ...
        for _ in range(50):
            b = rng.randint(1, 10 ** rng.randint(1, max(d - 1, 1)) - 1)
            q_digits = [rng.randint(1, 9)] + [0 if rng.random() < 0.6 else rng.randint(1, 9)
                                              for _ in range(rng.randint(1, d - 1) if d > 1 else 0)]
            q, r = _number(q_digits), rng.randint(0, b - 1)
            if q * b + r <= top:
                return q * b + r, b
        return top, 1
    if kind < 0.5:  # remainder 0
        return rng.randint(0, top // b) * b, b
    if kind < 0.65:  # remainder b - 1
        return rng.randint(0, (top - b + 1) // b) * b + b - 1, b
    if kind < 0.75:
        return rng.randint(0, top), 1  # divisor 1
    if kind < 0.9:
        return rng.randint(0, b - 1), b  # dividend < divisor: quotient 0
    # Quotient 1, remainder 0.
    return b, b


HARD_GENERATORS: dict[str, Callable[[random.Random, int], tuple[int, int]]] = {
    "+": _hard_addition, "-": _hard_subtraction, "*": _hard_multiplication, "/": _hard_division}


def hard_problem(rng: random.Random, op: str, min_digits: int, max_digits: int) -> Problem:
    """One adversarial problem for `op` with operands of at most `max_digits` digits (any length below it):
    +  carry chains of every length 1..d+1 (runs of a_i + b_i = 9 after a carry), 10^k - 1 + b, 999 + 999;
    -  borrows through runs of zeros, results with leading zeros, sign changes, equal low digits, a - a, small a;
    *  operands dense in 8s and 9s, 10^d - 1 times b, operands with inner zeros, times 0, 1, 10^(d-1);
    /  quotients with inner zeros, remainder 0, remainder b - 1, divisor 1, dividend < divisor, a = b."""
    a, b = HARD_GENERATORS[op](rng, max_digits)
    return op, a, b


def _any_length(rng: random.Random, d: int, is_divisor: bool) -> int:
    lo, hi = operand_range(rng.randint(1, d), "/", is_divisor)
    return rng.randint(lo, hi)


def division_case_problem(rng: random.Random, kind: str, d: int) -> tuple[int, int]:
    """One division a / b of `kind` (DIVISION_CASE_KINDS), operands of 1..d digits with lengths uniform."""
    top = 10**d - 1
    b = _any_length(rng, d, True)
    if kind == "a=b":
        return b, b
    if kind == "b=1":
        return _any_length(rng, d, False), 1
    if kind == "r=0":
        return b * rng.randint(0, top // b), b
    if kind == "r=b-1":
        return b * rng.randint(0, (top - b + 1) // b) + b - 1, b
    if kind == "one-digit b":
        return _any_length(rng, d, False), rng.randint(1, 9)
    if kind == "quotient digits 0 and 9":  # the ends of a quotient digit's range: r < b and r >= 9b at a step
        for _ in range(50):
            b = rng.randint(1, 10 ** rng.randint(1, max(d - 1, 1)) - 1)
            q = _number([rng.choice([0, 9]) for _ in range(rng.randint(1, d))])
            if q * b + b - 1 <= top:
                return q * b + rng.randint(0, b - 1), b
        return top, 1
    raise ValueError(f"unknown division case {kind!r}; expected one of {DIVISION_CASE_KINDS}")


def case_problem(rng: random.Random, op: str, min_digits: int, max_digits: int) -> Problem:
    """÷: one of DIVISION_CASE_KINDS, each equally likely; + - *: `hard_problem`."""
    if op != "/":
        return hard_problem(rng, op, min_digits, max_digits)
    a, b = division_case_problem(rng, rng.choice(DIVISION_CASE_KINDS), max_digits)
    return op, a, b


SAMPLERS: dict[str, Callable[[random.Random, str, int, int], Problem]] = {
    "lengths": lengths_problem, "values": values_problem, "full_width": full_width_problem, "hard": hard_problem,
    "cases": case_problem}


def parse_weights(text: str, choices, what: str) -> dict[str, float]:
    """'lengths:1,hard:0.5' -> {'lengths': 1.0, 'hard': 0.5}; ValueError naming a bad entry."""
    weights = {}
    for entry in text.split(","):
        name, _, value = entry.strip().partition(":")
        try:
            weight = float(value) if value else 1.0
        except ValueError:
            weight = -1.0
        if name not in choices or not weight >= 0:
            raise ValueError(f"bad {what} entry {entry.strip()!r} in {text!r}; expected name:weight with a name from "
                             f"{tuple(choices)} and a weight >= 0")
        weights[name] = weight
    if not sum(weights.values()) > 0:
        raise ValueError(f"{what} {text!r} has no positive weight")
    return weights


class Mixture:
    """Draws an operation by `operation_weights`, then a distribution by `weights`, then a problem from it."""

    def __init__(self, operations: str, min_digits: int, max_digits: int, weights: dict[str, float],
                 operation_weights: dict[str, float] | None = None):
        self.min_digits, self.max_digits = min_digits, max_digits
        operation_weights = operation_weights or {op: 1.0 for op in operations}
        self.operations = [op for op in operations if operation_weights.get(op, 0) > 0]
        self.operation_weights = [operation_weights[op] for op in self.operations]
        self.kinds = [kind for kind, w in weights.items() if w > 0]
        self.kind_weights = [weights[kind] for kind in self.kinds]

    def __call__(self, rng: random.Random) -> Problem:
        op = rng.choices(self.operations, self.operation_weights)[0] if len(self.operations) > 1 else self.operations[0]
        kind = rng.choices(self.kinds, self.kind_weights)[0] if len(self.kinds) > 1 else self.kinds[0]
        return SAMPLERS[kind](rng, op, self.min_digits, self.max_digits)


__all__ = ["DISTRIBUTIONS", "DIVISION_CASE_KINDS", "HARD_GENERATORS", "Mixture", "Problem", "SAMPLERS", "case_problem",
           "division_case_problem", "full_width_problem", "hard_problem", "lengths_problem", "operand_range",
           "parse_weights", "values_problem"]
