import itertools
import json
import random
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hf_arith.data import (
    ArithmeticDataSettings,
    ArithmeticTraces,
    answer_string,
    data_preset,
    load_arithmetic_traces,
    make_completion,
    make_trace,
    max_completion_length,
    parse_prompt,
    training_stream,
    verify_trace,
)
from hf_arith.data.builder import PRESETS
from hf_arith.data.problems import cell_of, split_problems
from hf_arith.data.traces import FORMATS, OPERATIONS, check_format

SEED_VECTORS = json.loads((Path(__file__).parent / "seed_vectors.json").read_text())


@pytest.mark.parametrize("vector", SEED_VECTORS["mul_formats"], ids=lambda v: v["text"])
def test_seed_000_multiplication_formats_byte_for_byte(vector):
    fmt = {(False, False): "plain", (False, True): "reverse_cot", (True, False): "sum_cot",
           (True, True): "reverse_sum_cot"}[(vector["sum_cot"], vector["reverse_cot"])]
    prompt, completion = make_trace(vector["a"], "*", vector["b"], fmt)
    assert prompt + completion == vector["text"]
    assert verify_trace(prompt, completion).valid


def test_seed_001_reversed_example():
    assert make_trace(1, "+", 9, "reversed") == ("1+9=", "01")  # 10 reversed


@pytest.mark.parametrize(
    "problem, fmt, expected",
    [
        ((345, "+", 678), "cot", "5+8+0=13;4+7+1=12;3+6+1=10=1023"),  # carry out, digit per column
        ((345, "-", 678), "plain", "-333"),  # negative results carry a leading minus
        ((345, "-", 678), "reversed", "-333"),  # sign stays in front, digits reversed (palindrome here)
        ((340, "-", 8), "reversed", "233"),  # 332 reversed
        ((345, "-", 678), "cot_sub_sign", "-8-5-0=03;7-4-0=03;6-3-0=03=-333"),  # b-a column by column, sign first
        ((45, "-", 7), "cot_sub_sign", "+5-7-0=18;4-0-1=03=38"),  # borrow 1 then 4-0-1
        # complement (cot): a-b whatever the sign (digits 667 = 1000-333); the last borrow says negative: 0-667
        ((345, "-", 678), "cot", "5-8-0=17;4-7-1=16;3-6-1=16;0-7-0=13;0-6-1=13;0-6-1=13=-333"),
        ((45, "-", 7), "cot", "5-7-0=18;4-0-1=03=38"),  # no borrow out of the last column: positive
        ((345, "/", 7), "plain", "49r2"),  # quotient r remainder
        ((345, "/", 7), "reversed", "94r2"),
        ((345, "/", 7), "cot_div_unpadded", "3=0r3;34=4r6;65=9r2=49r2"),  # long division, a digit of a a step
        # product (cot): current, quotient digit, q*7 in brackets, remainder, each written units first
        ((345, "/", 7), "cot", "30=0[00]3;43=4[82]6;56=9[36]2=49r2"),
        ((345, "*", 678), "cot", "0933[0933]+02172[01503]+004302[019332]=233910"),  # = reverse_sum_cot
        ((0, "+", 0), "reverse_cot", "0=0"),
        ((45, "+", 7), "plain", "52"),
    ],
)
def test_formats_explicit_examples(problem, fmt, expected):
    a, op, b = problem
    assert make_completion(a, op, b, fmt) == expected


def test_zero_padding_pads_operands_and_answer():
    assert make_trace(45, "+", 7, "plain", pad_width=3) == ("045+007=", "0052")
    assert make_trace(45, "*", 7, "reversed", pad_width=3) == ("045*007=", "513000")
    assert make_trace(45, "/", 7, "plain", pad_width=3) == ("045/007=", "006r003")
    # padded chains of thought: every number at a fixed width, so each digit has a fixed position
    assert make_trace(807, "*", 214, "reverse_sum_cot", pad_width=3) == (
        "807*214=", "894100[894100]+000000[894100]+002171[896271]=172698")
    with pytest.raises(ValueError, match="operand 1234 has more than pad_width=3"):
        make_trace(1234, "+", 1, pad_width=3)


def test_padding_to_the_longer_operand_pads_each_problem_on_its_own():
    # the published length-generalization layout: both operands n digits, an addition's answer n + 1 digits
    assert make_trace(7, "+", 45, "reversed", pad_width="longer") == ("07+45=", "250")
    assert make_trace(99, "+", 1, "reversed", pad_width="longer") == ("99+01=", "001")
    assert make_trace(5, "+", 5, "plain", pad_width="longer") == ("5+5=", "10")
    assert make_trace(123, "-", 7, "plain", pad_width="longer") == ("123-007=", "116")
    assert make_trace(45, "/", 7, "plain", pad_width="longer") == ("45/07=", "06r03")
    with pytest.raises(ValueError, match="pad_width must be None, an int >= 1 or 'longer', got 'widest'"):
        make_trace(1, "+", 1, pad_width="widest")


@given(st.integers(0, 10**40), st.integers(0, 10**40))
def test_padded_to_the_longer_operand_every_sum_has_one_digit_more_and_verifies(a, b):
    n = max(len(str(a)), len(str(b)))
    prompt, completion = make_trace(a, "+", b, "reversed", pad_width="longer")
    assert prompt == f"{a:0{n}d}+{b:0{n}d}=" and completion == f"{a + b:0{n + 1}d}"[::-1]
    verdict = verify_trace(prompt, completion, "reversed")
    assert verdict.valid and verdict.answer_correct


def test_the_two_padding_rules_exclude_each_other():
    with pytest.raises(ValueError, match="zero_pad .* and pad_to_longer .* exclude each other"):
        ArithmeticDataSettings(zero_pad=True, pad_to_longer=True).validate()
    assert ArithmeticDataSettings(pad_to_longer=True).pad_width == "longer"
    assert ArithmeticDataSettings(zero_pad=True, max_digits=4).pad_width == 4
    assert ArithmeticDataSettings().pad_width is None


@pytest.mark.parametrize("call, fragment", [
    (lambda: make_trace(1, "%", 2), "'%'"),
    (lambda: make_trace(1, "/", 0), "division by zero"),
    (lambda: make_trace(-1, "+", 2), "-1"),
    (lambda: make_trace(1, "+", 2, "sum_cot"), "multiplication only"),
    (lambda: make_trace(1, "+", 2, "fancy"), "'fancy'"),
    (lambda: verify_trace("12+", "3"), "'12+'"),
])
def test_bad_problems_raise(call, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        call()


problems = st.tuples(st.integers(0, 99_999), st.sampled_from("+-*/"), st.integers(1, 99_999))
formats = st.sampled_from(FORMATS)


def valid_trace(problem, fmt, padded):
    a, op, b = problem
    try:
        check_format(fmt, op)
    except ValueError:
        assume(False)
    return make_trace(a, op, b, fmt, pad_width=5 if padded else None)


@given(problems, formats, st.booleans())
def test_verifier_accepts_every_generated_trace(problem, fmt, padded):
    prompt, completion = valid_trace(problem, fmt, padded)
    verdict = verify_trace(prompt, completion)
    assert verdict.valid and verdict.answer_correct and verdict.first_error_step is None


def step_of(completion: str, position: int, op: str, fmt: str) -> int:
    """Index of the step holding character `position`, counted from the format's separators (written here, apart
    from the verifier): steps are split by ';' (+, -, / chains), '+' (products) or '=' (reverse_cot); the final
    answer after the last '=' is the last step; cot_sub_sign's sign is a step of its own."""
    if fmt in ("plain", "reversed"):
        return 0
    if fmt == "reverse_cot":
        return completion[:position].count("=")
    body_end = completion.rindex("=")
    separator = "+" if op == "*" else ";"
    sign_step = op == "-" and fmt in ("cot_sub_sign",)  # the complement layout (cot's default) has no sign step
    steps_in_body = completion[:body_end].count(separator) + 1 + sign_step
    if position >= body_end:
        return steps_in_body  # the '=' or the final answer
    if sign_step:
        return 0 if position == 0 else 1 + completion[:position].count(separator)
    return completion[:position].count(separator)


@given(problems, formats, st.booleans(), st.data())
@settings(max_examples=300)
def test_verifier_catches_a_corrupted_character(problem, fmt, padded, data):
    prompt, completion = valid_trace(problem, fmt, padded)
    position = data.draw(st.integers(0, len(completion) - 1))
    new_char = data.draw(st.sampled_from("0123456789+-*=[];r").filter(lambda c: c != completion[position]))
    corrupted = completion[:position] + new_char + completion[position + 1:]
    a, op, b = problem
    verdict = verify_trace(prompt, corrupted, fmt)
    if verdict.valid:
        # Only acceptable if the corruption produced another correct trace of the same problem in this format.
        a_text, b_text = prompt[:-1].split(op)
        pads = {None, len(a_text)} if len(a_text) == len(b_text) else {None}
        assert corrupted in {make_completion(a, op, b, fmt, p) for p in pads}
    elif completion[position].isdigit() and new_char.isdigit():
        # A digit changed into a digit leaves the structure and the steps before it untouched: none may be blamed.
        assert step_of(completion, position, op, fmt) <= verdict.first_error_step < verdict.num_steps
    else:
        # A changed separator can change how the earlier text parses (a lost last '=' moves the final answer).
        assert 0 <= verdict.first_error_step < verdict.num_steps


def test_verifier_locates_the_first_wrong_step():
    # step 1 (second column) claims carry-in 0 where the true carry is 1
    verdict = verify_trace("345+678=", "5+8+0=13;4+7+0=11;3+6+1=10=1023")
    assert verdict.format == "cot" and verdict.first_error_step == 1 and verdict.answer_correct
    wrong_final = verify_trace("807*214=", "8941[8941]+0[8941]+002171[896271]=172699")
    assert wrong_final.first_error_step == 3 and not wrong_final.answer_correct
    assert verify_trace("345+678=", "3201").format == "reversed"


def test_builder_splits_disjoint_deterministic_and_verified(tmp_path):
    data = load_arithmetic_traces("calc3", cache_dir=str(tmp_path), train_size=3000, validation_size=300,
                                  test_size=300)
    keys = {split: {(r["op"], r["a"], r["b"]) for r in data[split]} for split in data}
    assert [len(keys[s]) for s in ("train", "validation", "test")] == [3000, 300, 300]  # distinct within splits
    assert not keys["train"] & keys["test"] and not keys["train"] & keys["validation"]
    assert not keys["validation"] & keys["test"]
    assert set(data["train"]["op"]) == set("+-*/")
    for row in itertools.chain(*(data[s] for s in data)):
        assert row["answer"] == answer_string(int(row["a"]), row["op"], int(row["b"]))
        assert verify_trace(row["prompt"], row["completion"], "cot").valid
    again = load_arithmetic_traces("calc3", cache_dir=str(tmp_path / "other"), train_size=3000,
                                   validation_size=300, test_size=300)
    assert again["test"]["prompt"] == data["test"]["prompt"] and again["train"]["prompt"] == data["train"]["prompt"]
    bigger_train = load_arithmetic_traces("calc3", cache_dir=str(tmp_path), train_size=5000, validation_size=300,
                                          test_size=300)
    assert bigger_train["test"]["prompt"] == data["test"]["prompt"]


def test_small_problem_space_fills_exactly(tmp_path):
    data = load_arithmetic_traces("add3", cache_dir=str(tmp_path), max_digits=1, train_size=80, validation_size=10,
                                  test_size=10)
    assert len({r["prompt"] for s in data for r in data[s]}) == 100  # every 1-digit sum exactly once


@pytest.mark.parametrize("overrides, fragment", [
    (dict(train_size=2_000_000), "only 1000000 exist"),
    (dict(format="sum_cot"), "multiplication only"),
    (dict(max_digits=0), "max_digits must be an int >= 1, got 0"),
    (dict(operations="+x"), "'+x'"),
    (dict(min_digits=5), "min_digits (5) must not exceed max_digits (3)"),
    (dict(problem_seed=-1), "problem_seed must be an int >= 0, got -1"),
])
def test_bad_config_raises_before_generating(tmp_path, overrides, fragment):
    with pytest.raises(ValueError) as excinfo:
        ArithmeticTraces(config_name="add3", cache_dir=str(tmp_path), **overrides)
    assert fragment in str(excinfo.value)
    assert not list(tmp_path.rglob("*.arrow"))


def test_unknown_preset():
    with pytest.raises(ValueError, match="unknown data preset 'add4'"):
        data_preset("add4")
    with pytest.raises(ValueError, match="unknown data settings"):
        data_preset("add3", seed=3)


def test_code_change_changes_the_cache_key(tmp_path, monkeypatch):
    from hf_arith.data import builder as builder_module
    first = ArithmeticTraces(config_name="add3", cache_dir=str(tmp_path))
    monkeypatch.setattr(builder_module, "_code_fingerprint", lambda: "changed-code")
    second = ArithmeticTraces(config_name="add3", cache_dir=str(tmp_path))
    assert first.cache_dir != second.cache_dir


@pytest.mark.parametrize("name, a, op, b, expected", [
    ("add3", 45, "+", 7, ("45+7=", "25")),  # seed 001: reversed answer
    ("add9", 123456789, "+", 1, ("123456789+1=", "097654321")),
    # the calculator's chains of thought: division lists each step's current value (reversed, fixed width), quotient
    # digit, product [reversed] and remainder; subtraction takes a - b by columns, and a second pass on a borrow out
    ("calc3", 345, "/", 7, ("345/7=", "30=0[00]3;43=4[82]6;56=9[36]2=49r2")),
    ("calc3", 345, "-", 678, ("345-678=", "5-8-0=17;4-7-1=16;3-6-1=16;0-7-0=13;0-6-1=13;0-6-1=13=-333")),
    ("mul3-plain", 867, "*", 821, ("867*821=", "711807")),  # seed 000's four formats
    ("mul3-reverse_cot", 386, "*", 273, ("386*273=", "873501=105378")),
    ("mul3-sum_cot", 507, "*", 779, ("507*779=", "5453[5453]+0[5453]+389500[394953]=394953")),
    ("mul3-reverse_sum_cot", 807, "*", 214, ("807*214=", "8941[8941]+0[8941]+002171[896271]=172698")),
    ("mul6-reverse_sum_cot", 12, "*", 3, ("12*3=", "6[6]+03[63]=36")),  # 2x3, then 10x3 reversed
])
def test_presets_write_the_seed_experiments_traces(name, a, op, b, expected):
    settings = data_preset(name)
    assert op in settings.operations and settings.min_digits == 1
    assert make_trace(a, op, b, settings.format, settings.pad_width) == expected


def test_every_preset_builds_verified_splits_of_its_operations(tmp_path):
    for name, preset in PRESETS.items():
        data = load_arithmetic_traces(name, cache_dir=str(tmp_path), train_size=40, validation_size=8, test_size=8)
        assert [len(data[s]) for s in ("train", "validation", "test")] == [40, 8, 8]
        for row in itertools.chain(*(data[s] for s in data)):
            assert row["op"] in preset.operations and len(row["a"]) <= preset.max_digits
            assert verify_trace(row["prompt"], row["completion"], preset.format).valid, (name, row)


@given(st.sampled_from(OPERATIONS), st.sampled_from(FORMATS), st.integers(1, 6), st.booleans(), st.randoms())
@settings(max_examples=200)
def test_max_completion_length_bounds_every_trace(op, fmt, digits, padded, rng):
    try:
        check_format(fmt, op)
    except ValueError:
        assume(False)
    bound = max_completion_length(op, fmt, digits)
    for _ in range(20):
        a, b = rng.randrange(10**digits), rng.randrange(1, 10**digits)
        assert len(make_completion(a, op, b, fmt, digits if padded else None)) <= bound


@pytest.mark.parametrize("op", OPERATIONS)
@pytest.mark.parametrize("digits", [1, 2, 3, 4])
def test_max_completion_length_is_reached(op, digits):
    # The bound is exact, not slack: some problem writes a completion of exactly that length in every format.
    rng = random.Random(0)
    candidates = [(10**digits - 1, 10**digits - 1), (10**digits - 2, 10**digits - 1), (0, 10**digits - 1)]
    candidates += [(rng.randrange(10**digits), rng.randrange(1, 10**digits)) for _ in range(3000)]
    for fmt in FORMATS:
        try:
            check_format(fmt, op)
        except ValueError:
            continue
        longest = max(len(make_completion(a, op, b, fmt, pad)) for a, b in candidates for pad in (None, digits))
        assert longest == max_completion_length(op, fmt, digits), fmt


def test_parse_prompt():
    assert parse_prompt("045+7=") == ("045", "+", "7")
    assert parse_prompt("12/3=") == ("12", "/", "3")
    for bad in ("12+3", "+3=", "12 + 3=", "-1+2="):
        with pytest.raises(ValueError, match=re.escape(repr(bad))):
            parse_prompt(bad)


def test_training_stream_never_yields_a_held_out_problem(tmp_path):
    config = data_preset("add3", max_digits=2, train_size=100, validation_size=200, test_size=500)
    data = load_arithmetic_traces("add3", cache_dir=str(tmp_path), max_digits=2, train_size=100,
                                  validation_size=200, test_size=500)
    held_out = set(data["test"]["prompt"]) | set(data["validation"]["prompt"])
    streamed = [ex["prompt"] for ex in itertools.islice(training_stream(config), 20_000)]
    assert not held_out & set(streamed)
    # lengths are uniform, so a quarter of the draws are 1-digit + 1-digit: every such problem not held out appears
    one_digit = {f"{a}+{b}=" for a in range(10) for b in range(10)}
    assert one_digit - held_out <= set(streamed)


def test_held_out_splits_leave_every_cell_in_training_and_represent_every_cell():
    # 1x1 multiplication has 100 problems; a 10,000-problem test split would otherwise take all of them
    splits = split_problems("*", 1, 3, {"test": 10_000, "validation": 2_000, "train": 20_000}, seed=0)
    test, validation = (Counter(cell_of(p) for p in splits[name]) for name in ("test", "validation"))
    train = Counter(cell_of(p) for p in splits["train"])
    # 25 % of each cell, shared in proportion to the split sizes (10,000 : 2,000): 1x1 has 100, 1x2 has 900
    assert (test[("*", 1, 1)], validation[("*", 1, 1)]) == (20, 4)
    assert (test[("*", 1, 2)], validation[("*", 1, 2)]) == (187, 37)
    assert set(train) == set(test) == set(validation) and len(train) == 9  # every cell in every split
    assert train[("*", 1, 1)] == 100 - 24


def test_training_and_validation_follow_the_mix_and_test_does_not(tmp_path):
    data = load_arithmetic_traces("add3", cache_dir=str(tmp_path), train_size=6000, validation_size=1000,
                                  test_size=1000, train_mix="values")
    full_width = {s: sum(len(a) == 3 and len(b) == 3 for a, b in zip(data[s]["a"], data[s]["b"])) / len(data[s])
                  for s in data}
    assert full_width["train"] > 0.75 and full_width["validation"] > 0.75  # values uniform: 81 % are 3 x 3
    assert full_width["test"] < 0.2  # lengths uniform (and capped per cell): the test split is unchanged in kind
    weighted = load_arithmetic_traces("calc3", cache_dir=str(tmp_path), train_size=4000, validation_size=300,
                                      test_size=300, operation_weights="+:1,/:3")
    counts = Counter(weighted["train"]["op"])
    assert set(counts) == {"+", "/"} and 2.5 < counts["/"] / counts["+"] < 3.5


@pytest.mark.parametrize("overrides, fragment", [
    (dict(train_mix="values:1,easy:2"), "'easy:2'"), (dict(train_mix="hard:-1"), "'hard:-1'"),
    (dict(train_mix="hard:0"), "no positive weight"), (dict(operation_weights="*:2"), "'*:2'"),
])
def test_bad_mixes_raise_naming_the_entry(tmp_path, overrides, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        data_preset("add3", **overrides)


def test_held_out_capacity_is_checked_before_generating(tmp_path):
    with pytest.raises(ValueError, match="held-out splits may take only 25 problems"):
        ArithmeticTraces(config_name="add3", cache_dir=str(tmp_path), max_digits=1, train_size=10,
                         validation_size=40, test_size=40)


@pytest.mark.parametrize("fmt, expected", [
    # 345 / 7 with operands padded to 3 digits: steps for the digits 0, 3, 4, 5 of "345" -> 3, 34, 65
    ("cot_div_unpadded", "3=0r3;34=4r6;65=9r2=049r002"),
    ("cot_div_fixed", "0003=0r003;0034=4r006;0065=9r002=049r002"),  # current 4 digits, remainder 3: fixed places
    # current, quotient digit, q * 7 in brackets, remainder, each written least significant digit first
    ("cot_div_product", "3000=0[0000]300;4300=4[8200]600;5600=9[3600]200=049r002"),
    # 1 * 7 ... 9 * 7 first (reversed, 4 digits), then the product layout's steps
    ("cot_div_table", "7000;4100;1200;8200;5300;2400;9400;6500;3600;"
                      "3000=0[0000]300;4300=4[8200]600;5600=9[3600]200=049r002"),
    # the product layout with r = current - q * 7 written per column: r's digit, then the borrow out of the column
    # (34 - 28: 4 - 8 = 6 borrow 1, 3 - 2 - 1 = 0; 65 - 63 = 2, 6 - 6 = 0)
    ("cot_div_borrow", "3000=0[0000]30000000;4300=4[8200]61000000;5600=9[3600]20000000=049r002"),
    # the check layout: current, guess G (right here), G * 7, D = current - G * 7 and X = D - 7 (D >= 0) modulo 10^4,
    # then q and r: 3 - 0 = 3, 3 - 7 = -4 -> 9996; 34 - 28 = 6, 6 - 7 -> 9999; 65 - 63 = 2, 2 - 7 -> 9995
    ("cot_div_check", "3000=0[0000]3000[6999]0r300;4300=4[8200]6000[9999]4r600;5600=9[3600]2000[5999]9r200=049r002"),
    # aligned: b = 007 shifted to 700 (written reversed, "007"), then every number times 100: current 300, 3400, 6500,
    # 4 * 700 = 2800, remainders 300, 600, 200; the answer's remainder is r itself (2)
    ("cot_div_product_aligned", "007;0030=0[0000]003;0043=4[0082]006;0056=9[0036]002=049r002"),
    # the same for check: 300 - 0 = 300, 300 - 700 -> 9600; 3400 - 2800 = 600, 600 - 700 -> 9900; 6500 - 6300 = 200,
    # 200 - 700 -> 9500
    ("cot_div_check_aligned", "007;0030=0[0000]0030[0069]0r003;0043=4[0082]0060[0099]4r006;"
                              "0056=9[0036]0020[0059]9r002=049r002"),
    # non-restoring: 7, 14, 28, 56 first (reversed, 4 digits); then per digit current, V1 = current - 56 and each next
    # V = V -/+ 28, 14, 7 (- after a V >= 0, + after a negative one), modulo 10^5 (99978 is -22), then q and r.
    # 34: -22, +28 -> 6, -14 -> -8, +7 -> -1: V >= 0 only at 28, so q = 4; r = -1 + 7 = 6.
    # 65: 9, -28 -> -19, +14 -> -5, +7 -> 2: V >= 0 at 56 and 7, q = 9, r = 2.
    ("cot_div_nonrestoring", "7000;4100;8200;6500;3000-74999+57999+98999+69999=0r300;"
                             "4300-87999+60000-29999+99999=4r600;5600-90000-18999+59999+20000=9r200=049r002"),
])
def test_division_layouts(fmt, expected):
    assert make_trace(345, "/", 7, fmt, pad_width=3) == ("345/007=", expected)
    # steps before the first digit's
    table = {"cot_div_table": 9, "cot_div_nonrestoring": 4}.get(fmt, 1 if fmt.endswith("_aligned") else 0)
    verdict = verify_trace("345/007=", expected, fmt)
    assert verdict.valid and verdict.num_steps == 4 + table
    wrong_digit = expected.replace("=4", "=5", 1)  # the second quotient digit
    assert verify_trace("345/007=", wrong_digit, fmt).first_error_step == 1 + table
    if table == 9:
        wrong_multiple = expected.replace("8200;", "8300;", 1)  # 4 * 7 written as 38
        assert verify_trace("345/007=", wrong_multiple, fmt).first_error_step == 3
    if table == 1:  # the shifted divisor is a step of its own: written unshifted, it is the first wrong one
        assert verify_trace("345/007=", "700" + expected[3:], fmt).first_error_step == 0
    assert make_completion(12, "+", 3, fmt) == make_completion(12, "+", 3, "cot")  # + - x are cot's


def test_the_verifier_and_the_writers_agree_on_what_cot_means():
    from hf_arith.data import verify
    from hf_arith.data.traces import DIVISION_LAYOUT, SUBTRACTION_LAYOUT

    assert verify.DIVISION_COT == f"cot_div_{DIVISION_LAYOUT}"
    assert verify.SUBTRACTION_COT == f"cot_sub_{SUBTRACTION_LAYOUT}"
    assert make_completion(345, "/", 7, "cot", 3) == make_completion(345, "/", 7, verify.DIVISION_COT, 3)
    assert make_completion(3, "-", 7, "cot", 3) == make_completion(3, "-", 7, verify.SUBTRACTION_COT, 3)


@pytest.mark.parametrize("a, b", [(45, 7), (7, 45), (100, 1), (5, 5), (0, 999), (999, 0), (500, 501)])
def test_complement_subtraction_vectors(a, b):
    # written out by hand for 007-045: 7-5-0=02, 0-4-0=16, 0-0-1=19 (borrow out: negative, digits 962 = 1000-38),
    # then 0-2-0=18, 0-6-1=13, 0-9-1=10: digits 038
    if (a, b) == (7, 45):
        assert make_completion(a, "-", b, "cot", 3) == "7-5-0=02;0-4-0=16;0-0-1=19;0-2-0=18;0-6-1=13;0-9-1=10=-038"
    prompt, completion = make_trace(a, "-", b, "cot", 3)
    assert completion.endswith("=" + answer_string(a, "-", b, 3)) and verify_trace(prompt, completion, "cot").valid
    assert completion.count(";") + 1 == (6 if a < b else 3)  # a second pass only for a negative result


def test_a_trace_valid_in_several_formats_says_so():
    assert verify_trace("11+0=", "11").format == "plain|reversed"  # a palindrome: no way to tell
    assert verify_trace("12+0=", "21").format == "reversed"
    assert verify_trace("11+0=", "11", "reversed").format == "reversed"  # the model's own format decides


def test_the_borrow_layout_marks_each_borrow_and_a_too_large_quotient_digit():
    # 859 / 55, last step: 309 - 275 = 34 with a borrow out of the tens column (0 - 7)
    prompt, completion = make_trace(859, "/", 55, "cot_div_borrow", 3)
    assert completion.split(";")[2] == "9030=5[5720]40310000=015r034"
    # the remainder's tens digit written without its borrow: the step is wrong, the steps before are right
    wrong = completion.replace("40310000", "40300000")
    assert verify_trace(prompt, wrong, "cot_div_borrow").first_error_step == 2


def test_the_nonrestoring_layout_decides_each_bit_by_a_sign_and_a_tie_by_zero():
    # 7 / 7 at its last step: 7 - 56 = -49, + 28 = -21, + 14 = -7, + 7 = 0 (zero is >= 0: the bit of 1 is set)
    prompt, completion = make_trace(7, "/", 7, "cot_div_nonrestoring", 3)
    assert completion.split(";")[-1] == "7000-15999+97999+39999+00000=1r000=001r000"
    assert verify_trace(prompt, completion, "cot_div_nonrestoring").valid
    # a sign that does not follow the V before it (subtracting after a negative V) is the wrong step
    prompt, completion = make_trace(345, "/", 7, "cot_div_nonrestoring", 3)
    wrong_sign = completion.replace("4300-87999+60000", "4300-87999-60000", 1)
    assert verify_trace(prompt, wrong_sign, "cot_div_nonrestoring").first_error_step == 5
    # a multiple written wrong (2 * 7 as 15) is the first wrong step even if the digits after it are right
    assert verify_trace(prompt, completion.replace("4100;", "5100;", 1), "cot_div_nonrestoring").first_error_step == 1
    # unpadded: the widths follow b's (current 2 digits, V 3): 999 / 1, 9 - 8 = 1, 1 - 4 = -3 (997), -3 + 2 = -1,
    # -1 + 1 = 0: bits 8 and 1, q = 9
    assert make_completion(999, "/", 1, "cot_div_nonrestoring").split(";")[4] == "90-100-799+999+000=9r0"


@given(st.integers(0, 999), st.integers(1, 999), st.booleans())
@settings(max_examples=300)
def test_nonrestoring_bits_make_the_quotient_digit(a, b, padded):
    # read back from the text alone: each digit step's sign digits (a leading 9 is negative) give q = 8.. + 1 bits
    prompt, completion = make_trace(a, "/", b, "cot_div_nonrestoring", 3 if padded else None)
    assert verify_trace(prompt, completion, "cot_div_nonrestoring").valid
    quotient = ""
    for step in completion.rpartition("=")[0].split(";")[4:]:
        tries = re.findall(r"[-+](\d+)", step.partition("=")[0])
        quotient += str(sum(m for m, v in zip((8, 4, 2, 1), tries) if v[-1] != "9"))
    assert int(quotient) == a // b


def test_the_check_layout_corrects_a_guess_one_off_either_way():
    # 345 / 7 guessing 5 (q = 4) at the second digit and 8 (q = 9) at the third, written out by hand:
    # 34 - 35 = -1 -> 9999 (a leading 9: too large), X = D + 7 = 6, so q = 4, r = 6;
    # 65 - 56 = 9 (D >= 0), X = 9 - 7 = 2 >= 0 (D >= b: too small), so q = 9, r = 2
    prompt, completion = make_trace(345, "/", 7, "cot_div_check", 3, guess_offsets=(0, 1, -1))
    assert completion == "3000=0[0000]3000[6999]0r300;4300=5[5300]9999[6000]4r600;5600=8[6500]9000[2000]9r200=049r002"
    assert verify_trace(prompt, completion, "cot_div_check").valid
    # a guess two off is not corrected by one check: the step is wrong whatever follows it
    two_off = completion.replace("4300=5[5300]9999[6000]", "4300=6[2400]8999[5999]", 1)
    assert verify_trace(prompt, two_off, "cot_div_check").first_error_step == 1
    # the correction must follow the check: a too-large guess kept as the quotient digit is wrong
    kept = completion.replace("[6000]4r600", "[6000]5r600", 1)
    assert verify_trace(prompt, kept, "cot_div_check").first_error_step == 1
    # 100 / 100, every step guessed one off where 0..9 allows (10 - 100 = -90 -> 9910, written 0199)
    prompt, completion = make_trace(100, "/", 100, "cot_div_check", 3, guess_offsets=(1, 1, -1))
    assert completion == "1000=1[0010]1099[1000]0r100;0100=1[0010]0199[0100]0r010;0010=0[0000]0010[0000]1r000=001r000"


@given(st.integers(0, 999), st.integers(1, 999), st.booleans(), st.randoms(),
       st.sampled_from(["cot_div_check", "cot_div_check_aligned"]))
@settings(max_examples=300)
def test_check_layout_writer_agrees_with_the_verifier_for_any_allowed_guess(a, b, padded, rng, fmt):
    from hf_arith.data.traces import quotient_digits

    pad = 3 if padded else None
    a_text = make_trace(a, "/", b, fmt, pad)[0].partition("/")[0]
    offsets = tuple(rng.choice([o for o in (-1, 0, 1) if 0 <= q + o <= 9]) for q in quotient_digits(a_text, b))
    prompt, completion = make_trace(a, "/", b, fmt, pad, guess_offsets=offsets)
    verdict = verify_trace(prompt, completion, fmt)
    assert verdict.valid and completion.endswith("=" + answer_string(a, "/", b, pad))
    steps = completion.split(";")[1 if fmt.endswith("_aligned") else 0:]  # aligned: the shifted b first
    assert [int(step.partition("=")[2][0]) for step in steps] == [
        q + o for q, o in zip(quotient_digits(a_text, b), offsets)]


@pytest.mark.parametrize("call, fragment", [
    (lambda: make_trace(345, "/", 7, "cot_div_check", 3, guess_offsets=(0, 2, 0)), "offset 2"),
    (lambda: make_trace(345, "/", 7, "cot_div_check", 3, guess_offsets=(0, 0, 1)), "offset 1"),  # q = 9: no 10
    (lambda: make_trace(345, "/", 7, "cot_div_check", 3, guess_offsets=(0, 0)), "one offset per digit"),
    (lambda: make_trace(345, "/", 7, "cot", 3, guess_offsets=(0, 0, 0)), "check layout"),
    (lambda: make_trace(345, "+", 7, "cot_div_check", 3, guess_offsets=(0, 0, 0)), "check layout"),
    (lambda: data_preset("calc3", division_guess_noise=0.2), "needs division in a check layout"),
    (lambda: data_preset("calc3", format="cot_div_check", division_guess_noise=1.5), "[0, 1], got 1.5"),
    (lambda: data_preset("calc3", format="cot_div_product_aligned", division_guess_noise=0.2), "check layout"),
    (lambda: make_trace(345, "/", 7, "cot_div_product_aligned", 3, guess_offsets=(0, 0, 0)), "check layout"),
])
def test_guesses_outside_the_check_layout_raise(call, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        call()


@pytest.mark.parametrize("fmt", ["cot_div_check", "cot_div_check_aligned"])
def test_guess_noise_is_the_share_the_settings_say_in_training_only(tmp_path, fmt):
    from hf_arith.data.traces import quotient_digits

    data = load_arithmetic_traces("calc3", cache_dir=str(tmp_path), operations="/", format=fmt,
                                  zero_pad=True, division_guess_noise=0.3, train_size=4000, validation_size=300,
                                  test_size=300)
    counts = {}
    for split in data:
        off = total = 0
        for row in data[split]:
            assert verify_trace(row["prompt"], row["completion"], fmt).valid
            steps = row["completion"].split(";")[1 if fmt.endswith("_aligned") else 0:]  # aligned: b shifted first
            written = [int(step.partition("=")[2][0]) for step in steps]
            right = quotient_digits(row["prompt"].partition("/")[0], int(row["b"]))
            off += sum(w != q for w, q in zip(written, right))
            total += len(right)
        counts[split] = off / total
    assert counts["validation"] == counts["test"] == 0  # held-out traces guess right
    assert 0.27 < counts["train"] < 0.33  # 12,000 steps at 0.3: the binomial spread is 0.004
