"""The expression calculator: parsing (a whitelist, never eval), the calculator's bookkeeping of signs and steps,
and errors that name the step. A perfect model stands in for a trained one, so that every answer can be compared
with Python integers."""

import ast
from types import SimpleNamespace

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hf_arith import AlignedPairTokenizer, CharTokenizerFast
from hf_arith.batching import encode
from hf_arith.calculator import Calculator, exact_value, parse_expression
from hf_arith.data.traces import make_completion, parse_prompt


class PerfectModel:
    """Answers every prompt with its correct trace (hf_arith's trace writer): a stand-in for a model that is always
    right, so these tests check the calculator, not a model."""

    def __init__(self, tokenizer, fmt, pad_width):
        self.tokenizer, self.fmt, self.pad_width = tokenizer, fmt, pad_width
        self.config = SimpleNamespace(position_embedding="rope", n_positions=512)
        self.device = torch.device("cpu")
        self.prompts = []

    def eval(self):
        return self

    def generate(self, input_ids, attention_mask, max_new_tokens, **kwargs):
        rows = []
        for ids, mask in zip(input_ids, attention_mask):
            prompt = self.tokenizer.decode(ids[mask.bool()].tolist())
            self.prompts.append(prompt)
            a, op, b = parse_prompt(prompt)
            new = encode(self.tokenizer, make_completion(int(a), op, int(b), self.fmt, self.pad_width))
            new = (new + [self.tokenizer.eos_token_id])[:max_new_tokens]
            rows.append(ids.tolist() + new + [self.tokenizer.pad_token_id] * (max_new_tokens - len(new)))
        return torch.tensor(rows)


class WrongModel(PerfectModel):
    """PerfectModel, except that it answers the problems in `wrong` (prompt -> plain answer) with that answer."""

    def __init__(self, tokenizer, wrong):
        super().__init__(tokenizer, "plain", None)
        self.wrong = wrong

    def generate(self, input_ids, attention_mask, max_new_tokens, **kwargs):
        rows = super().generate(input_ids, attention_mask, max_new_tokens, **kwargs).tolist()
        for row, prompt in zip(rows, self.prompts[-len(rows):]):
            if prompt in self.wrong:
                new = encode(self.tokenizer, self.wrong[prompt]) + [self.tokenizer.eos_token_id]
                start = len(input_ids[0])
                row[start:] = (new + [self.tokenizer.pad_token_id] * max_new_tokens)[:max_new_tokens]
        return torch.tensor(rows)


def calculator(operations="+-*/", max_digits=4, fmt="cot", zero_pad=True, check=True):
    tokenizer = AlignedPairTokenizer(max_digits=max_digits)
    settings = {"operations": operations, "format": fmt, "max_digits": max_digits, "zero_pad": zero_pad}
    model = PerfectModel(tokenizer, fmt, max_digits if zero_pad else None)
    return Calculator(model, tokenizer, settings, check=check), model


def reference(node, top=True):
    """The calculator's documented meaning, computed here with Python integers: the value, or None when a step would
    need an operand longer than 4 digits, a negative dividend or a divisor below 1."""
    if isinstance(node, int):
        return node
    if node[0] == "neg":
        value = reference(node[1], top=False)
        return None if value is None else -value
    op, left, right = node
    x, y = reference(left, top=False), reference(right, top=False)
    if x is None or y is None or max(len(str(abs(x))), len(str(abs(y)))) > 4:
        return None
    if op == "/":
        if x < 0 or y < 1:
            return None
        return f"{x // y}r{x % y}" if top else x // y
    return {"+": x + y, "-": x - y, "*": x * y}[op]


def render(node) -> str:
    if isinstance(node, int):
        return str(node)
    if node[0] == "neg":
        return f"-({render(node[1])})"
    return f"({render(node[1])}{node[0]}{render(node[2])})"


expressions = st.recursive(
    st.integers(0, 99),
    lambda inner: st.one_of(st.tuples(st.sampled_from("+-*/"), inner, inner), st.tuples(st.just("neg"), inner)),
    max_leaves=5)


@given(expressions)
@settings(max_examples=150, deadline=None)
def test_every_expression_gets_its_python_value_or_names_the_step_it_cannot_take(tree):
    calc, _ = calculator()
    text = render(tree)
    (result,) = calc.run([text])
    expected = reference(tree)
    if expected is None:
        assert result.answer is None and result.input_error and result.error.startswith("step ")
    else:
        assert result.answer == str(expected), (text, result)


@pytest.mark.parametrize("text, answer, steps", [
    ("12+34*5", "182", ["34*5=", "12+170="]),  # precedence: * first
    ("(12+34)*5", "230", ["12+34=", "46*5="]),
    ("(7-9)*3", "-6", ["7-9=", "2*3="]),  # the model's subtraction gives -2; the calculator keeps the sign
    ("-5+3", "-2", ["3-5="]),  # (-a) + b is b - a for the model
    ("-5-3", "-8", ["5+3="]),
    ("100/7", "14r2", ["100/7="]),  # a top-level division prints quotient r remainder
    ("100/7*2", "28", ["100/7=", "14*2="]),  # inside an expression the quotient is passed on
    ("045+007=", "52", ["45+7="]),  # leading zeros and a trailing '=' are fine
    ("42", "42", []),
])
def test_expressions_step_by_step(text, answer, steps):
    calc, model = calculator(zero_pad=False, check=False)
    (result,) = calc.run([text])
    assert result.answer == answer and [s.prompt for s in result.steps] == steps == model.prompts
    assert all(s.verdict.valid and s.checked is None and s.check_of is None for s in result.steps)


@pytest.mark.parametrize("text, answer, steps", [
    ("12+34", "46", ["12+34=", "46-12=?"]),  # + by its inverse: c - a gives b
    ("12*34", "408", ["12*34=", "408/12=?"]),  # * by its inverse: p / a gives b remainder 0
    ("0*34", "0", ["0*34=", "0/34=?"]),  # a = 0: p / b gives a
    ("9999+1", "10000", ["9999+1=", "1+9999=?"]),  # a 5-digit sum: beyond the model's 4 digits, a repeat
    ("999*99", "98901", ["999*99=", "99*999=?"]),  # a 5-digit product: a repeat
    ("7-9", "-2", ["7-9=", "2+7=?"]),  # a - b = -2: 2 + a gives b
    ("9-7", "2", ["9-7=", "2+7=?"]),  # a - b = 2: 2 + b gives a
    ("345/7", "49r2", ["345/7=", "49*7=?", "343+2=?"]),  # q * b, then + the remainder gives a
    ("0/7", "0r0", ["0/7=", "0*7=?", "0+0=?"]),
    ("12+34*5", "182", ["34*5=", "170/34=?", "12+170=", "182-12=?"]),
])
def test_the_model_checks_every_answer_before_it_is_used(text, answer, steps):
    calc, model = calculator(zero_pad=False)
    (result,) = calc.run([text])
    assert result.answer == answer and not result.refused
    assert [s.prompt + ("?" if s.check_of else "") for s in result.steps] == steps
    assert [s.prompt for s in result.steps] == model.prompts  # every check is a step the model computed
    for n, step in enumerate(result.steps, 1):  # a check points at the step before it that it checks
        if step.check_of is None:
            assert step.checked is True
        else:
            assert result.steps[step.check_of - 1].check_of is None and step.check_of < n


@pytest.mark.parametrize("wrong, text, fragment", [
    ({"345/7=": "48r9"}, "345/7", "step 1 (345/7): the model answered 48r9, but its remainder 9 is not below 7"),
    ({"345/7=": "48r6"}, "345/7", "step 1 (345/7): the model answered 48r6, but its check 336+6 gave 342, not 345"),
    ({"100/7=": "15r0"}, "100/7", "15r0, but its check 15*7 gave 105, more than 100"),
    ({"7/9=": "8r0"}, "7/9", "step 1 (7/9): the model answered 8r0, but its quotient 8 exceeds 7"),
    ({"100/7=": "14r2", "14*7=": "96"}, "100/7", "its check 96+2 gave 98, not 100"),  # a wrong check refuses too
    ({"12+34=": "47"}, "12+34", "step 1 (12+34): the model answered 47, but its check 47-12 gave 35, not 34"),
    ({"46-12=": "35"}, "12+34", "step 1 (12+34): the model answered 46, but its check 46-12 gave 35, not 34"),
    ({"7-9=": "-3"}, "7-9", "step 1 (7-9): the model answered -3, but its check 3+7 gave 10, not 9"),
    ({"9-7=": "3"}, "9-7", "step 1 (9-7): the model answered 3, but its check 3+7 gave 10, not 9"),
    ({"12*34=": "418"}, "12*34", "step 1 (12*34): the model answered 418, but its check 418/12 gave 34r10, not 34r0"),
    ({"999*99=": "98911"}, "999*99", "its check 99*999 gave 98901, not 98911; a repeat of the same operation"),
    ({"100/7=": "13r9"}, "100/7*2", "step 1 (100/7): the model answered 13r9, but its remainder 9 is not below 7"),
    ({"14*2=": "29"}, "100/7*2", "step 2 (14*2): the model answered 29, but its check 29/14 gave 2r1, not 2r0"),
])
def test_a_wrong_answer_is_refused_with_the_step_and_what_its_check_gave(wrong, text, fragment):
    tokenizer = AlignedPairTokenizer(max_digits=4)
    settings = {"operations": "+-*/", "format": "plain", "max_digits": 4, "zero_pad": False}
    # no second looks: the check's own verdict (second looks: test_second_looks_*)
    (result,) = Calculator(WrongModel(tokenizer, wrong), tokenizer, settings, looks=0).run([text])
    assert result.answer is None and result.refused and not result.input_error
    assert fragment in result.error and result.error.endswith("; no answer")
    assert [s.checked for s in result.steps if s.check_of is None][-1] is False


def test_without_checks_the_model_s_answer_is_handed_on_right_or_wrong():
    tokenizer = AlignedPairTokenizer(max_digits=4)
    settings = {"operations": "+-*/", "format": "plain", "max_digits": 4, "zero_pad": False}
    model = WrongModel(tokenizer, {"345/7=": "48r9"})
    (result,) = Calculator(model, tokenizer, settings, check=False).run(["345/7"])
    assert result.answer == "48r9" and result.error is None and model.prompts == ["345/7="]


def test_a_step_whose_check_needs_an_operation_the_model_lacks_is_used_unchecked():
    calc, model = calculator(operations="/", zero_pad=False)
    (result,) = calc.run(["345/7"])
    assert result.answer == "49r2" and model.prompts == ["345/7="] and result.steps[0].checked is None


def test_a_model_padded_to_the_longer_operand_gets_its_prompts_so_and_long_operands():
    # the add-length layout: each problem zero-padded to its longer operand; the aligned tokenizer's 256 digits, not
    # the 20 of the training range, bound the operands
    tokenizer = AlignedPairTokenizer(max_digits=256, fixed_columns=False)
    settings = {"operations": "+", "format": "reversed", "max_digits": 20, "zero_pad": False, "pad_to_longer": True}
    model = PerfectModel(tokenizer, "reversed", "longer")
    calc = Calculator(model, tokenizer, settings)
    a, b = int("9" * 200), int("1" + "0" * 150)
    (long_sum, short) = calc.run([f"{a}+{b}", "7+45"])
    assert long_sum.answer == str(a + b) and short.answer == "52"
    # each sum and its check (b + a), padded alike
    assert sorted(model.prompts) == sorted([f"{a}+{b:0200d}=", "07+45=", f"{b:0200d}+{a}=", "45+07="])
    with pytest.raises(ValueError, match="has 257 digits; this model takes operands of at most 256"):
        calc.check("1" * 257 + "+1")


def test_many_expressions_advance_together_in_batched_rounds():
    calc, model = calculator(zero_pad=False, check=False)
    calls = []
    original = model.generate
    model.generate = lambda *a, **k: calls.append(len(a[0]) if a else len(k["input_ids"])) or original(*a, **k)
    results = calc.run([f"{i}+{i}" for i in range(50)] + ["(1+2)*(3+4)"])
    assert [r.answer for r in results[:50]] == [str(2 * i) for i in range(50)] and results[50].answer == "21"
    # round 1: the 50 sums and 1+2 of the last expression (its steps run in order); round 2: 3+4; round 3: 3*7
    assert calls == [51, 1, 1]
    calc, model = calculator(zero_pad=False)
    calls.clear()
    model.generate = lambda *a, **k: calls.append(len(a[0]) if a else len(k["input_ids"])) or original(*a, **k)
    results = calc.run([f"{i}+{i}" for i in range(50)] + ["(1+2)*(3+4)"])
    assert [r.answer for r in results[:50]] == [str(2 * i) for i in range(50)] and results[50].answer == "21"
    # with checks each step's check is the next round: 50 sums and 1+2; their checks; 3+4; its check; 3*7; its check
    assert calls == [51, 51, 1, 1, 1, 1]


@pytest.mark.parametrize("text, fragment", [
    ("__import__('os')", "character '_'"), ("2**3", "is not allowed"), ("1.5+2", "character '.'"),
    ("12+", "malformed expression"), ("", "empty expression"), ("7%2", "character '%'"), ("abs(3)", "character 'a'"),
])
def test_only_arithmetic_is_parsed(text, fragment):
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace("*", r"\*")):
        parse_expression(text)


def test_checks_before_the_model_runs_and_step_errors_after():
    calc, model = calculator(operations="+", max_digits=2, fmt="reversed")
    with pytest.raises(ValueError, match="uses '\\*', but this model was trained on '\\+' only"):
        calc.check("12*3")
    with pytest.raises(ValueError, match="123 in '123\\+1' has 3 digits"):
        calc.check("123+1")
    (too_long, negative) = calc.run(["99+99+1", "-5+3"])
    assert too_long.answer is None and "step 2 (198+1): 198 has 3 digits" in too_long.error
    assert negative.answer is None and "step 1 (3-5): this model was trained on '+' only" in negative.error
    assert model.prompts == ["99+99=", "99+99="]  # the step and its check; no step the model cannot take is ever run


def test_exact_value_is_what_the_documentation_says():
    assert exact_value(parse_expression("7/2")) == (3, 1)
    assert exact_value(parse_expression("7/2+1")) == 4
    assert exact_value(parse_expression("-(2*3)-4")) == -10
    assert isinstance(parse_expression("1+2"), ast.BinOp)


def test_the_longest_expressions_allowed_are_computed():
    calc, _ = calculator(operations="+-")
    longest_chain = "+".join(["1"] + ["0"] * 499)  # 499 operators
    signs = "-" * 500 + "7"  # 500 unary minus signs: +7
    nested = "(" * 100 + "5+4" + ")" * 100
    results = calc.run([longest_chain, signs, nested])
    assert [r.answer for r in results] == ["1", "7", "9"]


@pytest.mark.parametrize("text, fragment", [
    ("+".join(["1"] + ["0"] * 1000), "has 1,000 operator signs; the calculator takes at most 500"),  # RecursionError
    ("1" * 1_000_000, "has 1,000,000 characters; the calculator takes at most 10,000"),
    ("-" * 3000 + "1", "has 3,000 operator signs"),
    ("(" * 101 + "1" + ")" * 101, "nests 101 parentheses deep; the calculator takes at most 100"),
])
def test_expressions_beyond_the_limits_are_named_before_parsing(text, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_expression(text)
    calc, _ = calculator()
    with pytest.raises(ValueError, match=fragment):
        calc.check(text)


class UnsureModel:
    """A character model of the plain format that writes `first[prompt]` as its first answer (the right one for any
    other prompt), and whose logits lead with every token it was given by 10, except at `unsure[prompt] = (position,
    character)`: there the character is a close second (lead 0.5). After tokens fixed past the prompt it writes the
    rest of the right answer if they begin it, else the rest of its first answer."""

    def __init__(self, tokenizer, first, unsure):
        self.tokenizer, self.first, self.unsure = tokenizer, first, unsure
        self.config = SimpleNamespace(position_embedding="rope", n_positions=512)
        self.device = torch.device("cpu")
        self.asked = []  # (prompt, tokens fixed after it) per row generated

    def eval(self):
        return self

    @staticmethod
    def _right(prompt):
        a, op, b = parse_prompt(prompt)
        return make_completion(int(a), op, int(b), "plain", None)

    def generate(self, input_ids, attention_mask, max_new_tokens, **kwargs):
        rows = []
        for ids, mask in zip(input_ids, attention_mask):
            text = self.tokenizer.decode(ids[mask.bool()].tolist())
            prompt, fixed = text[: text.index("=") + 1], text[text.index("=") + 1 :]
            self.asked.append((prompt, fixed))
            right = self._right(prompt)
            answer = right if fixed and right.startswith(fixed) else self.first.get(prompt, right)
            new = (encode(self.tokenizer, answer[len(fixed):]) + [self.tokenizer.eos_token_id])[:max_new_tokens]
            rows.append(ids.tolist() + new + [self.tokenizer.pad_token_id] * (max_new_tokens - len(new)))
        return torch.tensor(rows)

    def __call__(self, input_ids, attention_mask):
        logits = torch.zeros(*input_ids.shape, len(self.tokenizer))
        for r, ids in enumerate(input_ids.tolist()):
            logits[r, torch.arange(len(ids) - 1), ids[1:]] = 10.0
            text = self.tokenizer.decode(ids)
            prompt = text[: text.index("=") + 1]
            if prompt in self.unsure:
                position, character = self.unsure[prompt]
                logits[r, len(prompt) - 1 + position, self.tokenizer.convert_tokens_to_ids(character)] = 9.5
        return SimpleNamespace(logits=logits)


def unsure_calculator(first, unsure, looks=3):
    tokenizer = CharTokenizerFast()
    settings = {"operations": "+-*/", "format": "plain", "max_digits": 3, "zero_pad": False}
    model = UnsureModel(tokenizer, first, unsure)
    return Calculator(model, tokenizer, settings, looks=looks), model


def test_second_looks_change_the_least_sure_token_and_answer_once_the_check_agrees():
    # 345/7 = 49r2: the model writes 48r2, unsure of its '8' (position 1), with '9' a close second
    calc, model = unsure_calculator({"345/7=": "48r2"}, {"345/7=": (1, "9")})
    (result,) = calc.run(["345/7"])
    assert result.answer == "49r2" and result.error is None and not result.refused
    shown = [(s.prompt, s.completion, s.check_of, s.look_of, s.look, s.checked) for s in result.steps]
    assert shown == [("345/7=", "48r2", None, None, 0, False),  # refuted by its check: 48 * 7 = 336, + 2 = 338
                     ("48*7=", "336", 1, None, 0, None), ("336+2=", "338", 1, None, 0, None),
                     ("345/7=", "49r2", None, 1, 1, True),  # '4', then the second choice '9'; the model goes on
                     ("49*7=", "343", 4, None, 0, None), ("343+2=", "345", 4, None, 0, None)]
    assert ("345/7=", "49") in model.asked  # the look fixed the first answer's tokens up to the changed one


def test_second_looks_that_find_nothing_confirmed_refuse_with_the_first_answer_and_its_check():
    # unsure of the '4', whose second choice '3' begins no right answer: every look is refuted or writes nothing
    calc, _ = unsure_calculator({"345/7=": "48r2"}, {"345/7=": (0, "3")})
    (result,) = calc.run(["345/7"])
    assert result.answer is None and result.refused
    assert result.error == ("step 1 (345/7): the model answered 48r2, but its check 336+2 gave 338, not 345; 3 second "
                            "looks found no answer its check confirms; no answer")
    looks = [s for s in result.steps if s.look_of is not None]
    assert [s.look for s in looks] == [1, 2, 3] and all(s.checked is not True for s in looks)
    calc, model = unsure_calculator({"345/7=": "48r2"}, {"345/7=": (1, "9")}, looks=0)  # no looks: refused at once
    (result,) = calc.run(["345/7"])
    assert result.refused and "second look" not in result.error and all(fixed == "" for _, fixed in model.asked)


def test_a_confirmed_answer_gets_no_second_look_and_looks_are_counted_per_step():
    calc, model = unsure_calculator({"14*2=": "27"}, {"14*2=": (1, "8")})
    (result,) = calc.run(["100/7*2"])  # step 1 right at once; step 2 (14*2) right on its first look
    assert result.answer == "28"
    assert [(s.a, s.op, s.b, s.look_of, s.look) for s in result.steps if s.check_of is None] == [
        (100, "/", 7, None, 0), (14, "*", 2, None, 0), (14, "*", 2, 4, 1)]
    assert [fixed for prompt, fixed in model.asked if prompt != "14*2="] == [""] * (len(model.asked) - 2)
    with pytest.raises(ValueError, match="looks must be an int >= 0, got -1"):
        unsure_calculator({}, {}, looks=-1)


def test_least_sure_ranks_every_written_token_by_its_lead_over_the_best_other_non_special_token():
    from hf_arith import ArithGPTConfig, ArithGPTForCausalLM
    from hf_arith.evaluation.generation import least_sure

    torch.manual_seed(0)
    tokenizer = CharTokenizerFast()
    model = ArithGPTForCausalLM(ArithGPTConfig(vocab_size=len(tokenizer), n_positions=64, n_embd=32, n_layer=1,
                                               n_head=2, pad_token_id=tokenizer.pad_token_id))
    prompt, completion = encode(tokenizer, "345/7="), encode(tokenizer, "49r2")
    ranked = least_sure(model, tokenizer, prompt, completion)
    assert sorted(p for p, _, _ in ranked) == [0, 1, 2, 3]
    assert [lead for _, _, lead in ranked] == sorted(lead for _, _, lead in ranked)
    with torch.no_grad():
        logits = model(torch.tensor([prompt + completion])).logits[0]
    special = set(tokenizer.all_special_ids)
    for position, token, lead in ranked:  # computed here again, one position at a time
        row = logits[len(prompt) - 1 + position]
        best_other = max((float(row[t]), t) for t in range(len(tokenizer)) if t != completion[position]
                         and t not in special)
        assert token == best_other[1] and abs(lead - (float(row[completion[position]]) - best_other[0])) < 1e-4
    assert least_sure(model, tokenizer, prompt, []) == []


def test_from_pretrained_opens_a_model_folder_as_hf_arith_calc_does(trained, tmp_path, capsys):
    from hf_arith.cli import main

    out, _ = trained
    problems = ["12+34", "7+9", "99+1"]
    results = Calculator.from_pretrained(str(out), check=False).run(problems)
    main(["calc", str(out), "--no_check", "--answer-only", *problems])
    printed = capsys.readouterr().out.split()
    assert [r.answer if r.answer is not None else "?" for r in results] == printed
    with pytest.raises(ValueError, match="config.json"):
        Calculator.from_pretrained(str(tmp_path))


def test_a_repeat_check_is_used_only_where_the_model_lacks_the_inverse_and_gets_no_second_look():
    # the half-trained adder of issue 46: 14+27 right (41), its repeat 27+14 wrong (51). With looks, the second look
    # rewrote 41 as 51 and the wrong repeat confirmed it; a repeat that disagrees now refuses at once.
    tokenizer = AlignedPairTokenizer(max_digits=4)
    settings = {"operations": "+", "format": "plain", "max_digits": 4, "zero_pad": False}
    model = WrongModel(tokenizer, {"27+14=": "51"})
    (result,) = Calculator(model, tokenizer, settings, looks=3).run(["14+27"])
    assert result.answer is None and result.refused
    assert "its check 27+14 gave 51, not 41; a repeat of the same operation, so no second look" in result.error
    assert model.prompts == ["14+27=", "27+14="]  # no look was taken
    # the same wrong addition in a model that also subtracts is checked by 41-14, which the adder's error misses
    settings = {**settings, "operations": "+-"}
    (result,) = Calculator(WrongModel(tokenizer, {"27+14=": "51"}), tokenizer, settings, looks=3).run(["14+27"])
    assert result.answer == "41" and result.steps[0].checked is True
    assert [s.prompt for s in result.steps] == ["14+27=", "41-14="]


def test_experts_each_take_the_steps_within_their_limits():
    from hf_arith.calculator import Expert

    short_tok, long_tok = CharTokenizerFast(), AlignedPairTokenizer(max_digits=64)
    short = PerfectModel(short_tok, "cot", 3)
    long = PerfectModel(long_tok, "reversed", None)
    experts = [Expert(short, short_tok, "+-*/", "cot", 3, 3, "calc3"),
               Expert(long, long_tok, "+", "reversed", None, 40, "add")]
    calc = Calculator(experts=experts)
    first, second, third, fourth = calc.run(["(999*999)+1", "98765432109876543210+12345678901234567890", "7*8",
                                             "1234-1"])
    assert first.answer == str(999 * 999 + 1)
    assert [(s.expert.name, s.a, s.op, s.b) for s in first.steps] == [
        ("calc3", 999, "*", 999), ("calc3", 999, "*", 999),  # the product, then its repeat (998001/999 is too long)
        ("add", 998001, "+", 1), ("add", 1, "+", 998001)]  # the sum and its repeat: no model subtracts 6 digits
    assert second.answer == str(98765432109876543210 + 12345678901234567890)
    assert {s.expert.name for s in second.steps} == {"add"}
    assert third.answer == "56" and {s.expert.name for s in third.steps} == {"calc3"}  # the first expert that can
    assert fourth.answer is None and fourth.input_error
    assert "1234 has 4 digits; this calculator takes operands of at most 3 digits for -" in fourth.error
    with pytest.raises(ValueError, match="this calculator takes operands of at most 40"):
        calc.check("1" * 41 + "+1")
    with pytest.raises(ValueError, match="one model .* or experts, not both"):
        Calculator(short, short_tok, {"operations": "+"}, experts=experts)
