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


def test_hard_at_a_length_of_its_own_has_carry_chains_beyond_the_training_range():
    problems = suite_problems("hard_100", "+", 20, size=1000)
    assert len(set(problems)) == 1000 and max(max(len(str(a)), len(str(b))) for _, a, b in problems) == 100
    chains = {carry_chain(a, b) for _, a, b in problems}
    assert max(chains) > 50 and len([c for c in chains if c > 20]) > 20  # chains no 20-digit problem has
    assert parse_suite_names("hard_100,length_200") == ["hard_100", "length_200"]


def test_suite_names():
    assert parse_suite_names("test, uniform,edge") == ["test", "uniform", "edge"]
    with pytest.raises(ValueError, match="'easy'"):
        parse_suite_names("test,easy")
    assert uniform_problem(random.Random(0), "/", 1)[2] >= 1


def digits(n: int) -> int:
    return len(str(n))  # 0 is a 1-digit number


def test_cells_has_cell_size_problems_in_every_cell_and_a_small_cell_whole():
    from collections import Counter

    problems = suite_problems("cells", "+-*/", 3, cell_size=300)
    assert len(problems) == len(set(problems))
    cells = Counter((op, digits(a), digits(b)) for op, a, b in problems)
    assert set(cells) == {(op, i, j) for op in "+-*/" for i in (1, 2, 3) for j in (1, 2, 3)}  # every cell, no other
    for op in "+-*":
        # 1x1 is every pair of 0-9 (100), 1x2 and 2x1 have more than 300 problems: 300 each
        assert cells[(op, 1, 1)] == 100 and all(cells[(op, i, j)] == 300 for i in (1, 2, 3) for j in (1, 2, 3)
                                                if (i, j) != (1, 1))
    # division: a 1-digit divisor is 1..9, so 1/1 is all 90 problems, 1/2 all 10 x 90; the others 300 each
    assert cells[("/", 1, 1)] == 90 and cells[("/", 1, 2)] == 300 and all(b >= 1 for op, _, b in problems if op == "/")
    assert {(a, b) for op, a, b in problems if op == "/" and digits(a) == digits(b) == 1} == {
        (a, b) for a in range(10) for b in range(1, 10)}
    # uniform within a cell: about 1 % of 3/3 has a = b's neighbour a < b ... a = b itself is rare (1 in 900)
    assert sum(a == b for op, a, b in problems if op == "/" and digits(a) == digits(b) == 3) <= 3


def test_division_cases_holds_each_case():
    problems = suite_problems("division_cases", "+-*/", 3, cell_size=200)
    assert {op for op, _, _ in problems} == {"/"} and len(problems) == len(set(problems))
    assert sum(a == b for _, a, b in problems) >= 200 and sum(b == 1 for _, a, b in problems) >= 200
    assert sum(a % b == 0 for _, a, b in problems) >= 200 and sum(a % b == b - 1 for _, a, b in problems) >= 200
    assert max(max(a, b) for _, a, b in problems) <= 999 and min(b for _, _, b in problems) >= 1
    with pytest.raises(ValueError, match="scores '/', which this model was not trained on"):
        suite_problems("division_cases", "+", 3)


def test_cells_of_a_model_without_division_has_no_division_cases():
    problems = suite_problems("cells", "+", 2, cell_size=50)
    assert {op for op, _, _ in problems} == {"+"} and len(problems) == 4 * 50  # 1x1's 100 problems: 50 drawn


def test_exhaustive_of_one_operation_is_every_problem_of_it():
    divisions = suite_problems("exhaustive_div", "+-*/", 3)
    assert len(divisions) == len(set(divisions)) == 999_000 and min(b for _, _, b in divisions) == 1
    assert {op for op, _, _ in divisions} == {"/"} and max(a for _, a, _ in divisions) == 999
    with pytest.raises(ValueError, match="scores '/', which this model was not trained on"):
        suite_problems("exhaustive_div", "+", 3)


def test_division_cases_and_the_worst_cell():
    from hf_arith.data.suites import division_case
    from hf_arith.evaluation.scoring import worst_cell

    assert division_case(7, 7) == ["a=b", "r=0"] and division_case(5, 1) == ["b=1", "r=0", "r=b-1"]
    assert division_case(13, 7) == ["r=b-1"] and division_case(3, 7) == ["a<b"] and division_case(345, 7) == []
    metrics = {"by_operation_digits": {"+": {"1x1": 1.0, "3x3": 0.999}, "/": {"2x1": 0.97, "3x3": 1.0}},
               "by_division_case": {"a=b": 0.5, "r=0": 0.9}}
    assert worst_cell(metrics) == {"operation": "/", "cell": "2x1", "exact_match": 0.97}
    metrics["by_operation_digits"]["+"]["1x1"] = 0.5
    assert worst_cell(metrics) == {"operation": "+", "cell": "1x1", "exact_match": 0.5}


@pytest.mark.parametrize("fmt, last_step", [("cot_div_check", "6r200=006r002"),
                                            ("cot_div_check_aligned", "6r002=006r002")])
def test_a_corrected_guess_counts_as_right_and_a_wrong_step_does_not(fmt, last_step):
    from hf_arith.data.traces import make_trace
    from hf_arith.evaluation.generation import Completion
    from hf_arith.evaluation.scoring import score_completions

    problems = [("/", 345, 7), ("/", 100, 100), ("/", 20, 3)]
    traces = [make_trace(a, op, b, fmt, 3) for op, a, b in problems]
    prompts, references = [p for p, _ in traces], [c for _, c in traces]
    corrected = make_trace(345, "/", 7, fmt, 3, guess_offsets=(0, 1, -1))[1]  # valid, not the reference
    assert references[2].endswith(last_step)
    wrong_step = references[2].replace(last_step, last_step.replace("6", "7"))  # a check that says 6, then 7 written
    completions = [Completion(corrected, True), Completion(references[1], True), Completion(wrong_step, True)]
    metrics = score_completions(prompts, completions, references, fmt, problems)
    assert corrected != references[0] and metrics["exact_match"] == 2 / 3 and metrics["corrected_guesses"] == 1
    assert metrics["by_operation_digits"]["/"] == {"3x1": 1.0, "3x3": 1.0, "2x1": 0.0}
    assert [w["prompt"] for w in metrics["wrong_examples"]] == ["020/003="]
    # in a layout with one valid trace per problem the same text is wrong: exact match is the reference's
    product = [make_trace(a, op, b, "cot", 3)[1] for op, a, b in problems]
    metrics = score_completions(prompts, [Completion(product[0][:-1] + "3", True)] + completions[1:2] * 2,
                                product, "cot", problems)
    assert metrics["exact_match"] == 0 and "corrected_guesses" not in metrics


@pytest.mark.parametrize("kind", ["a=b", "b=1", "r=0", "r=b-1", "one-digit b", "quotient digits 0 and 9"])
def test_each_division_case_kind_draws_only_that_case(kind):
    from hf_arith.data.distributions import division_case_problem

    rng = random.Random(kind)
    holds = {"a=b": lambda a, b: a == b, "b=1": lambda a, b: b == 1, "r=0": lambda a, b: a % b == 0,
             "r=b-1": lambda a, b: a % b == b - 1, "one-digit b": lambda a, b: 1 <= b <= 9,
             "quotient digits 0 and 9": lambda a, b: set(str(a // b)) <= {"0", "9"}}[kind]
    draws = [division_case_problem(rng, kind, 3) for _ in range(2000)]
    assert all(0 <= a <= 999 and 1 <= b <= 999 and holds(a, b) for a, b in draws)
    assert len(set(draws)) > 100  # a spread, not one problem
    assert {len(str(a)) for a, b in draws} >= ({1} if kind == "quotient digits 0 and 9" else {1, 2, 3})


def test_the_cases_mix_gives_each_division_case_its_share(monkeypatch):
    from collections import Counter

    from hf_arith.data import distributions

    kinds = Counter()
    draw = distributions.division_case_problem

    def recorded(rng, kind, d):
        kinds[kind] += 1
        return draw(rng, kind, d)

    monkeypatch.setattr(distributions, "division_case_problem", recorded)
    mixture = distributions.Mixture("+/", 1, 3, {"lengths": 1, "cases": 1})
    rng = random.Random(0)
    draws = [mixture(rng) for _ in range(24_000)]
    divisions = [(a, b) for op, a, b in draws if op == "/"]
    assert 0.48 < len(divisions) / len(draws) < 0.52
    # half the divisions come from `cases`, each of its six kinds a sixth of those
    assert set(kinds) == set(distributions.DIVISION_CASE_KINDS)
    assert 0.48 < sum(kinds.values()) / len(divisions) < 0.52
    assert all(abs(n / sum(kinds.values()) - 1 / 6) < 0.02 for n in kinds.values()), kinds
    # the additions of `cases` are `hard`: carry chains far more often than in uniform draws
    additions = [(a, b) for op, a, b in draws if op == "+"]
    assert sum(carry_chain(a, b) >= 3 for a, b in additions) / len(additions) > 0.15


def test_a_score_short_of_perfect_never_prints_as_100():
    from hf_arith.evaluation.metrics import percent
    from hf_arith.evaluation.scoring import suite_line

    # 23 wrong of 999,000 (a real exhaustive_div result): rounding would print 100.00
    assert percent(1 - 23 / 999_000) == "99.99" and percent(1 - 23 / 999_000, 3) == "99.997"
    assert percent(1.0) == "100.00" and percent(0.999) == "99.90" and percent(0.0) == "0.00"
    assert percent(0.57) == "57.00" and percent(0.99995, 3) == "99.995"  # float error does not push a digit down
    metrics = {"exact_match": 1 - 23 / 999_000, "num_problems": 999_000, "num_in_train": 0, "exact_match_unseen": None,
               "problems_per_s": 500.0, "by_operation": {"+": 1.0, "/": 1 - 46 / 999_000}}
    line = suite_line("exhaustive_div", metrics)
    assert "100.000 %" not in line and " 99.997 %" in line and "/ 99.99 %" in line and "+ 100.00 %" in line
