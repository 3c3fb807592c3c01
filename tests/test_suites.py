"""Evaluation suites: each draws what its name says, from its own seeded stream."""

import random

import pytest

from hf_arith.data.suites import (
    edge_problems,
    hard_problem,
    length_problems,
    parse_suite_names,
    suite_problems,
    uniform_problem,
)


def carry_chain(a: int, b: int) -> int:
    """Longest run of columns through which a carry travels (computed independently of the generator)."""
    longest = run = carry = 0
    while a or b or carry:
        carry = a % 10 + b % 10 + carry >= 10
        run = run + 1 if carry else 0
        longest, a, b = max(longest, run), a // 10, b // 10
    return longest


@pytest.mark.parametrize("op", "+-*/")
def test_uniform_draws_values_not_lengths(op):
    problems = suite_problems("uniform", op, 3, size=5000)
    assert len(problems) == len(set(problems)) == 5000
    assert all(0 <= a <= 999 and (1 if op == "/" else 0) <= b <= 999 for _, a, b in problems)
    # uniform over values: about 90 % of operands have 3 digits (length-uniform sampling would give a third)
    full = sum(a >= 100 for _, a, _ in problems) / len(problems)
    assert 0.87 < full < 0.93


def test_full_width_operands_have_exactly_d_digits():
    problems = suite_problems("full_width", "+-*/", 4, size=500)
    assert all(1000 <= a <= 9999 and 1000 <= b <= 9999 for _, a, b in problems) and len(problems) == 2000


def test_hard_addition_covers_every_carry_chain_length():
    problems = suite_problems("hard", "+", 9, size=3000)
    chains = {carry_chain(a, b) for _, a, b in problems}
    assert set(range(1, 10)) <= chains  # a carry travelling through 1, 2, ..., 9 columns
    assert ("+", 999_999_999, 1) in problems or ("+", 1, 999_999_999) in problems or any(
        a + b == 10**9 for _, a, b in problems)


def test_hard_cases_of_the_other_operations():
    rng = random.Random(0)
    subtraction = [hard_problem(rng, "-", 4)[1:] for _ in range(2000)]
    assert any(a < b for a, b in subtraction) and any(a == b for a, b in subtraction)  # sign changes, zero
    assert any(a % 1000 == 0 and a > 0 and b % 10 for a, b in subtraction)  # a borrow through zeros
    assert any(a < b and (b - a) % 100 == 0 for a, b in subtraction)  # equal low digits, a negative result
    division = [hard_problem(rng, "/", 4)[1:] for _ in range(2000)]
    assert all(b >= 1 for _, b in division)
    assert any(a % b == 0 for a, b in division) and any(a % b == b - 1 and b > 1 for a, b in division)
    assert any(b == 1 for _, b in division) and any(0 < a < b for a, b in division)
    assert any("0" in str(a // b)[1:] for a, b in division)  # quotients with inner zeros
    assert any(a == b for a, b in division)
    products = [hard_problem(rng, "*", 3)[1:] for _ in range(2000)]
    dense = sum(sum(ch in "89" for ch in f"{a:03d}{b:03d}") >= 5 for a, b in products)
    assert dense > 0.4 * len(products)


def test_edge_is_every_combination_of_0_1_and_the_largest_plus_equal_operands():
    problems = edge_problems("+/", 3)
    for a in (0, 1, 999):
        for b in (0, 1, 999):
            assert ("+", a, b) in problems
            assert (("/", a, b) in problems) == (b != 0)  # never a division by zero
    assert ("+", 100, 100) in problems and sum(a == b for _, a, b in problems) >= 2 * 10


def test_exhaustive_is_the_whole_space_or_refused():
    assert len(suite_problems("exhaustive", "+", 3)) == 1_000_000
    assert len(set(suite_problems("exhaustive", "+-", 2))) == 2 * 100 * 100
    with pytest.raises(ValueError, match="more than 2,000,000"):
        suite_problems("exhaustive", "+-*/", 3)


def test_suites_are_reproducible_and_seeded():
    assert suite_problems("hard", "+-", 3, 200) == suite_problems("hard", "+-", 3, 200)
    assert suite_problems("uniform", "+", 3, 200, seed=1) != suite_problems("uniform", "+", 3, 200, seed=0)
    assert suite_problems("uniform", "+", 2, 20_000) == [("+", a, b) for a in range(100) for b in range(100)]


def test_length_problems_are_full_width_at_that_length():
    problems = length_problems(200, "+", size=50)
    assert len(set(problems)) == 50 and all(len(str(a)) == len(str(b)) == 200 for _, a, b in problems)


def test_suite_names():
    assert parse_suite_names("test, uniform,edge") == ["test", "uniform", "edge"]
    with pytest.raises(ValueError, match="'easy'"):
        parse_suite_names("test,easy")
    assert uniform_problem(random.Random(0), "/", 1)[2] >= 1
