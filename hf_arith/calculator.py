"""Expressions, like a real calculator: "12+34*5", "(7-9)*3", "-5+3", "100/7".

An expression is parsed with Python's `ast` and only these nodes are accepted: non-negative integer literals, unary
minus and plus, parentheses, and the binary operators + - * / (also // for /). Nothing is ever evaluated by Python.
The MODEL computes every binary operation, innermost first, on non-negative operands, exactly as it was trained:
signs are kept by the calculator the way a person keeps them when working by hand ((-a) + b is computed as b - a,
(-a) * b as -(a * b)). A division inside an expression passes its quotient on (Python's //); a division at the top
prints quotient r remainder. A step the model cannot take (an operation it was not trained on, an operand with more
digits than it was trained on, a negative dividend or divisor, division by zero) is an error naming that step.

Every answer the model gives is checked by the model itself before the calculator uses it, by the inverse operation
where the model has it, the way a person checks working by hand: a + b = c by computing c - a (which must give b),
a * b = p by computing p / a (b, remainder 0), a - b = d by computing d + b (|d| + a when d is negative), and
a / b = q r m by computing q * b and then (q * b) + m, which must give a back, with m below b. Where the inverse is
beyond the model (an operation it was not trained on, a sum or product longer than its operands may be), a + b is
checked by b + a and a * b by b * a: a repeat of the same operation, which can share the answer's error. Python only
compares the numbers the model wrote; it computes none of them. When a check disagrees, the expression gets no
answer and an error naming the step, the model's answer and what its check gave. A step with no check available is
used unchecked and marked so (`Step.checked`); `Calculator(check=False)` turns checks off.

An answer whose inverse check disagrees gets second looks, the way a person rereads the digit they were unsure of:
the model writes its first answer again up to the token it was least sure of (the smallest lead of its chosen logit
over the next best), writes its second choice there and goes on by itself; the new answer is checked like the first.
Up to `looks` tokens are tried, least sure first; the first answer its check confirms is the answer, and when none
is, the expression gets no answer and the error names the first answer and its check. Every token is still the
model's. A repeat check that disagrees gets no second look: the answer and its repeat are the same computation, so
either may be the wrong one, and a look that made the answer agree with a wrong repeat would confirm an error.

All expressions advance together: each round collects the next step of every expression and runs them through the
model as one batch, so a file of 10,000 plain problems is one batched generation.
"""

import ast
import re
from dataclasses import dataclass, field

from .batching import encode
from .data.settings import ArithmeticDataSettings
from .data.traces import make_trace, read_answer
from .data.verify import verify_trace
from .evaluation.generation import generate_from_ids, least_sure

OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "/"}
_NUMBER = re.compile(r"\d+")
# Limits checked before parsing: Python's parser and the calculator's own walk recurse once per operator and per
# parenthesis, and a long enough expression would end in a RecursionError instead of an answer or a message.
MAX_CHARACTERS = 10_000
MAX_OPERATORS = 500  # + - * / signs, unary minus included
MAX_NESTING = 100  # parentheses open at once


# Second looks an answer whose check disagrees gets (Calculator(looks=...), `hf-arith calc --looks`): on the calc3
# models every wrong answer the checks refused was right at its least or second least sure token (docs/calculator.md).
DEFAULT_LOOKS = 3


class StepError(ValueError):
    """A step the model cannot take; the message names the step."""


class CheckFailed(Exception):
    """The model's check of one of its answers disagreed with it; the message names the step. `inverse`: the check
    was an inverse operation (False: a repeat of the answer's own operation)."""

    def __init__(self, message: str, inverse: bool = True):
        super().__init__(message)
        self.inverse = inverse


@dataclass(frozen=True)
class NoAnswer:
    """What a check or a second look that wrote no answer hands its walker: why, as the end of a sentence."""

    reason: str


@dataclass
class Step:
    """One binary operation the model computed: its prompt, the generated completion and what it was read as."""

    a: int
    op: str
    b: int
    prompt: str = ""
    completion: str = ""
    value: int | tuple[int, int] | None = None  # (quotient, remainder) for /
    reason: str | None = None  # why the model gave no answer, if it did not
    verdict: object = None  # verify_trace's TraceVerdict (Python's diagnosis, shown with --trace; never used to answer)
    check_of: int | None = None  # this step checks the one at position `check_of` (1-based) of Result.steps
    checked: bool | None = None  # for an answered step: whether the model's own check confirmed it (None: no check)
    look_of: int | None = None  # this step is a second look at the step at position `look_of` (1-based)
    look: int = 0  # which second look: its `look`-th least sure token changed to the model's second choice
    # the model's first answer: where it was least sure, as (position, second choice, lead), filled when needed
    alternatives: list | None = field(default=None, repr=False)
    # with Calculator(confidence=True): each token of the completion, EOS included, and the probability generate gave
    # it (None for the tokens a second look fixed before the model went on)
    confidence: list | None = field(default=None, repr=False)
    expert: object = field(default=None, repr=False)  # the calculator's model that computes it


@dataclass
class Result:
    expression: str
    answer: str | None = None  # None: no answer (see `error`)
    error: str | None = None
    input_error: bool = False  # the expression asked for something the model cannot do (exit code 2)
    refused: bool = False  # the model's check of one of its steps disagreed: no answer (see `error`)
    steps: list[Step] = field(default_factory=list)


def _check_limits(source: str) -> None:
    shown = f"{source[:20]!r}..." if len(source) > 30 else repr(source)
    if len(source) > MAX_CHARACTERS:
        raise ValueError(f"expression {shown} has {len(source):,} characters; the calculator takes at most "
                         f"{MAX_CHARACTERS:,}")
    operators = sum(source.count(sign) for sign in "+-*/")
    if operators > MAX_OPERATORS:
        raise ValueError(f"expression {shown} has {operators:,} operator signs; the calculator takes at most "
                         f"{MAX_OPERATORS}")
    depth = deepest = 0
    for character in source:
        depth += (character == "(") - (character == ")")
        deepest = max(deepest, depth)
    if deepest > MAX_NESTING:
        raise ValueError(f"expression {shown} nests {deepest} parentheses deep; the calculator takes at most "
                         f"{MAX_NESTING}")


def parse_expression(text: str) -> ast.expr:
    """The expression's syntax tree, or ValueError naming what is not allowed (also an expression beyond
    MAX_CHARACTERS, MAX_OPERATORS or MAX_NESTING). A trailing '=' is ignored and leading zeros are allowed
    ('045+007=')."""
    source = text.strip().removesuffix("=").strip()
    if not source:
        raise ValueError("empty expression")
    _check_limits(source)
    if re.search(r"[^\d\s+\-*/()]", source):
        bad = re.search(r"[^\d\s+\-*/()]", source).group()
        raise ValueError(f"character {bad!r} in {text.strip()!r}: expressions take digits, + - * / and parentheses")
    try:
        tree = ast.parse(_NUMBER.sub(lambda m: str(int(m.group())), source), mode="eval").body
    except SyntaxError:
        raise ValueError(f"malformed expression {text.strip()!r} (expected e.g. 12+34*5 or (7-9)*3)") from None
    for node in ast.walk(tree):
        allowed = (isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Constant)) or type(node) in OPERATORS
                   or isinstance(node, (ast.USub, ast.UAdd)))
        if not allowed or (isinstance(node, ast.Constant) and type(node.value) is not int):
            raise ValueError(f"{ast.unparse(node) if isinstance(node, ast.AST) else node!r} is not allowed in an "
                             f"expression: {text.strip()!r}")
    return tree


def exact_value(tree: ast.expr) -> int | tuple[int, int]:
    """What the expression means under the calculator's rules, computed with Python integers (the reference the
    tests compare the model with): / passes the quotient on, a top-level / gives (quotient, remainder)."""
    def value(node, top=False):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.UnaryOp):
            v = value(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        x, y, op = value(node.left), value(node.right), OPERATORS[type(node.op)]
        if op == "/":
            if x < 0 or y <= 0:
                raise StepError(f"{x}/{y}: the division needs a dividend >= 0 and a divisor >= 1")
            return divmod(x, y) if top else x // y
        return {"+": x + y, "-": x - y, "*": x * y}[op]

    return value(tree, top=True)


@dataclass
class Expert:
    """One model of a calculator: the operations it computes, its trace format and padding, and the longest operand
    it takes (its measured limit where its folder records one)."""

    model: object
    tokenizer: object
    operations: str
    format: str
    pad_width: int | None
    max_digits: int
    name: str = "model"

    @classmethod
    def of(cls, model, tokenizer, settings: dict, max_digits: int | None = None, name: str = "model") -> "Expert":
        """`settings`: the model's config.arith_data. The longest operand is the data's fixed width, else what the
        tokenizer takes (an aligned tokenizer names it), else the training range; `max_digits` lowers it (a limit
        measured at the end of training)."""
        pad_width = ArithmeticDataSettings.from_saved(settings).pad_width
        tokenizer_limit = getattr(tokenizer, "max_digits", None) or settings["max_digits"]
        limit = settings["max_digits"] if settings.get("zero_pad") else tokenizer_limit
        if max_digits is not None:
            limit = min(limit, max_digits)
        return cls(model, tokenizer, settings["operations"], settings["format"], pad_width, limit, name)

    def can(self, x: int, op: str, y: int) -> bool:
        return op in self.operations and x >= 0 and y >= 0 and max(len(str(x)), len(str(y))) <= self.max_digits


@dataclass(frozen=True)
class Skills:
    """What the calculator's models compute: a step is possible when one of them takes it."""

    experts: tuple

    @property
    def operations(self) -> str:
        return "".join(op for op in "+-*/" if any(op in e.operations for e in self.experts))

    def can(self, x: int, op: str, y: int) -> bool:
        return any(e.can(x, op, y) for e in self.experts)

    def limit(self, op: str) -> int:
        """The longest operand any model takes for `op` (0: none computes it)."""
        return max((e.max_digits for e in self.experts if op in e.operations), default=0)

    def expert_for(self, x: int, op: str, y: int):
        """The first model (in the calculator's order) that takes x op y, or None."""
        return next((e for e in self.experts if e.can(x, op, y)), None)


def _checks(a: int, op: str, b: int, value, skills: Skills):
    """The steps that check the model's `value` for a op b, as (x, op, y, expected), and whether they are the inverse
    operation (False: a repeat of op with the operands swapped); ([], False) when the model has no check. x None stands
    for the value the check before gave, expected None for "compared later". Every number here was written by the
    model or the user; Python compares, it computes nothing."""
    if op == "+":
        if skills.can(value, "-", a):
            return [(value, "-", a, b)], True
        return ([(b, "+", a, value)], False) if "+" in skills.operations else ([], False)
    if op == "*":
        for x, y in ((a, b), (b, a)):
            if x >= 1 and skills.can(value, "/", x):
                return [(value, "/", x, (y, 0))], True
        return ([(b, "*", a, value)], False) if "*" in skills.operations else ([], False)
    if op == "-":
        plan = [(value, "+", b, a)] if value >= 0 else [(-value, "+", a, b)]
        return (plan, True) if "+" in skills.operations else ([], False)
    if "*" in skills.operations and "+" in skills.operations:
        return [(value[0], "*", b, None), (None, "+", value[1], a)], True  # q * b, then (q * b) + m
    return [], False


def _ask(a: int, op: str, b: int, check: bool, skills: Skills, looks: int = 0):
    """A generator: yields (a, op, b, role) requests to the model (role "step" for a op b itself, "check" for a step
    that checks it, "look" for a second look at a op b) and returns the model's value for a op b; with `check`, only
    once the model's own check of it agreed. An answer whose inverse check disagrees gets up to `looks` second looks
    (the calculator sends a NoAnswer for a look that wrote none); CheckFailed, naming the first answer and its check,
    when none is confirmed. Yields "checked", "refuted" or "unchecked" once an answer's fate is known."""
    value = yield a, op, b, "step"
    if not check:
        return value
    if not _checks(a, op, b, (0, 0) if op == "/" else 0, skills)[0]:
        yield "unchecked"
        return value
    first_failure = None
    for look in range(looks + 1):
        if look:
            value = yield a, op, b, "look"
            if isinstance(value, NoAnswer):
                continue
        try:
            yield from _confirm(a, op, b, value, skills)
        except CheckFailed as failed:
            first_failure = first_failure or failed
            yield "refuted"
            if not failed.inverse:  # a repeat cannot tell which of the two is wrong: no second look
                raise CheckFailed(f"{failed}; a repeat of the same operation, so no second look") from None
            continue
        yield "checked"
        return value
    if looks:
        raise CheckFailed(f"{first_failure}; {looks} second look{'s' * (looks > 1)} found no answer its check "
                          "confirms")
    raise first_failure


def _confirm(a: int, op: str, b: int, value, skills: Skills):
    """A generator: the model's check of its `value` for a op b (yields the check's steps, receives their values);
    CheckFailed when it disagrees."""
    shown = _format(value)
    plan, inverse = _checks(a, op, b, value, skills)
    if op == "/":
        quotient, remainder = value
        if remainder >= b:  # comparisons of the model's numbers with the operands: no model step needed
            raise CheckFailed(f"the model answered {shown}, but its remainder {remainder} is not below {b}")
        if quotient > a:
            raise CheckFailed(f"the model answered {shown}, but its quotient {quotient} exceeds {a}")
    previous = None
    for x, c_op, y, expected in plan:
        if x is None:
            if previous > a:  # q * b > a: no remainder can bring it back (and the sum could exceed the model's digits)
                raise CheckFailed(f"the model answered {shown}, but its check {value[0]}*{b} gave {previous}, "
                                  f"more than {a}")
            x = previous
        got = yield x, c_op, y, "check"
        if isinstance(got, NoAnswer):
            raise CheckFailed(f"the model answered {shown}, but its check {x}{c_op}{y} {got.reason}", inverse)
        if expected is not None and got != expected:
            raise CheckFailed(f"the model answered {shown}, but its check {x}{c_op}{y} gave {_format(got)}, not "
                              f"{_format(expected)}", inverse)
        previous = got


def _binary(x: int, op: str, y: int, top: bool, check: bool, skills: Skills, looks: int):
    """Runs one binary operation through the model on magnitudes, keeping the sign outside (a generator: it yields
    the requests of `_ask` and receives the model's values)."""
    def ask(a, o, b):
        return _ask(a, o, b, check, skills, looks)

    if op == "-":
        op, y = "+", -y
    if op == "+":
        if (x >= 0) == (y >= 0):
            total = yield from ask(abs(x), "+", abs(y))
            return total if x >= 0 else -total
        # the model's subtraction gives the sign
        return (yield from (ask(x, "-", -y) if x >= 0 else ask(y, "-", -x)))
    if op == "*":
        product = yield from ask(abs(x), "*", abs(y))
        return product if (x >= 0) == (y >= 0) else -product
    quotient, remainder = yield from ask(x, "/", y)  # check_step refuses a negative dividend or a divisor below 1
    return (quotient, remainder) if top else quotient


def _walk(node, check: bool, skills: Skills, looks: int, top=True):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp):
        value = yield from _walk(node.operand, check, skills, looks, top=False)
        return -value if isinstance(node.op, ast.USub) else value
    x = yield from _walk(node.left, check, skills, looks, top=False)
    y = yield from _walk(node.right, check, skills, looks, top=False)
    return (yield from _binary(x, OPERATORS[type(node.op)], y, top, check, skills, looks))


def _as_value(answer: str, op: str):
    if op == "/":
        quotient, remainder = answer.split("r")
        return int(quotient), int(remainder)
    return int(answer)


def _format(value) -> str:
    return f"{value[0]}r{value[1]}" if isinstance(value, tuple) else str(value)


def _numbered(steps: list[Step]) -> list[int]:
    """The 1-based positions in `steps` of the expression's own steps (not the checks, not the second looks): step N
    of an error message is the N-th of these."""
    return [n for n, step in enumerate(steps, 1) if step.check_of is None and step.look_of is None]


def step_name(step: Step, number: int) -> str:
    """How a trace names `step`, the `number`-th of its expression's own steps or a check or second look at it."""
    if step.check_of is not None:
        return f"  check of step {number}"
    return f"  second look {step.look} at step {number}" if step.look_of is not None else f"step {number}"


def _attempt(steps: list[Step]) -> int:
    """The 1-based position of the latest answer to the current step: the step itself or its latest second look."""
    return max(n for n, step in enumerate(steps, 1) if step.check_of is None)


class Calculator:
    """Trained hf_arith models as a calculator: one model (`model`, `tokenizer` and `settings`, its
    config.arith_data), or several `experts` (each step goes to the first that takes it: its operation, operands up
    to its limit). `check`: the models check each of their answers (module docstring) and the calculator answers
    only what the checks confirm; `looks`: how many second looks an answer whose check disagrees gets (module
    docstring; 0: none)."""

    def __init__(self, model=None, tokenizer=None, settings: dict | None = None, batch_size: int = 1000,
                 check: bool = True, looks: int = DEFAULT_LOOKS, confidence: bool = False,
                 experts: list[Expert] | None = None):
        if isinstance(looks, bool) or not isinstance(looks, int) or looks < 0:
            raise ValueError(f"looks must be an int >= 0, got {looks!r}")
        if (experts is None) == (model is None):
            raise ValueError("a Calculator takes one model (model, tokenizer, settings) or experts, not both")
        self.experts = list(experts) if experts is not None else [Expert.of(model, tokenizer, settings)]
        if not self.experts:
            raise ValueError("a Calculator needs at least one expert")
        self.skills = Skills(tuple(self.experts))
        self.batch_size, self.check_answers = batch_size, check
        self.looks, self.keep_confidence = looks, confidence
        self.operations = self.skills.operations
        # the longest operand of any step (per operation: Skills.limit)
        self.max_digits = max(e.max_digits for e in self.experts)

    @classmethod
    def from_pretrained(cls, path: str, **kwargs) -> "Calculator":
        """The calculator of a local hf_arith model folder, or of a calculator folder (calculator.json naming its
        experts' folders), checked as `hf-arith calc` checks it (ValueError naming what is wrong); `kwargs` go to
        `Calculator` (`batch_size`, `check`, `looks`, `confidence`)."""
        from .loading import load_calculator_folder

        return cls(experts=load_calculator_folder(path), **kwargs)

    def _computes(self) -> str:
        if len(self.experts) == 1:
            return f"this model was trained on {self.operations!r} only"
        return f"this calculator computes {self.operations!r} only"

    def _takes(self, limit: int, op: str | None = None) -> str:
        if len(self.experts) == 1:
            return f"this model takes operands of at most {limit}"
        return f"this calculator takes operands of at most {limit} digits" + (f" for {op}" if op else "")

    def check_step(self, a: int, op: str, b: int, number: int) -> None:
        if op not in self.operations:
            raise StepError(f"step {number} ({a}{op}{b}): {self._computes()}")
        limit = self.skills.limit(op)
        for operand in (abs(a), abs(b)):
            if len(str(operand)) > limit:
                raise StepError(f"step {number} ({a}{op}{b}): {operand} has {len(str(operand))} digits; "
                                f"{self._takes(limit, op)}")
        if op == "/" and b == 0:
            raise StepError(f"step {number} ({a}/{b}): division by zero")
        if op == "/" and (a < 0 or b < 0):
            raise StepError(f"step {number} ({a}/{b}): the model divides a dividend >= 0 by a divisor >= 1 only")

    def check(self, text: str) -> ast.expr:
        """Parses `text` and checks what can be checked before the model runs (the operations and literals)."""
        tree = parse_expression(text)
        for node in ast.walk(tree):
            if isinstance(node, ast.BinOp) and OPERATORS[type(node.op)] not in self.operations:
                raise ValueError(f"{text.strip()!r} uses {OPERATORS[type(node.op)]!r}, but {self._computes()}")
            if isinstance(node, ast.Constant) and len(str(node.value)) > self.max_digits:
                raise ValueError(f"{node.value} in {text.strip()!r} has {len(str(node.value))} digits; "
                                 f"{self._takes(self.max_digits)}")
        return tree

    def run(self, texts: list[str]) -> list[Result]:
        """Evaluates every expression (checked with `check` first: ValueError for the first bad one)."""
        trees = [self.check(t) for t in texts]
        results = [Result(t.strip()) for t in texts]
        walkers, pending = {}, {}
        for i, tree in enumerate(trees):
            walkers[i] = _walk(tree, self.check_answers, self.skills, self.looks)
            self._advance(i, walkers, pending, results, None)
        while pending:
            order = list(pending)
            steps = [pending[i] for i in order]
            pending = {}
            requests = [self._request(results[i], step) for i, step in zip(order, steps)]
            answered = {}
            for expert in self.experts:  # one batched generation per model
                asked = [n for n, request in enumerate(requests) if request is not None and steps[n].expert is expert]
                if asked:
                    completions = generate_from_ids(expert.model, expert.tokenizer, [requests[n][0] for n in asked],
                                                    [requests[n][1] for n in asked], self.batch_size,
                                                    scores=self.keep_confidence)
                    answered.update(zip(asked, completions))
            for n, (i, step) in enumerate(zip(order, steps)):
                if n not in answered:  # a second look with no token left to change: it writes no answer
                    step.reason = "no other token to look at"
                    self._advance(i, walkers, pending, results, NoAnswer(step.reason))
                    continue
                completion = answered[n]
                step.completion = requests[n][2] + completion.text
                if self.keep_confidence:
                    step.confidence = [(token, None) for token in requests[n][3]] + list(completion.confidence)
                step.verdict = verify_trace(step.prompt, step.completion, step.expert.format)
                answer = read_answer(step.completion, step.op, step.expert.format) if completion.finished else None
                if answer is None:
                    step.reason = completion.reason or f"no {step.op} answer in {step.completion!r}"
                    if step.check_of is None and step.look_of is None:
                        results[i].error = f"step {len(_numbered(results[i].steps))} ({step.a}{step.op}{step.b}): " \
                                           f"{step.reason}"
                        continue
                    # a check or a second look that gave no answer confirms nothing: its walker decides what follows
                    self._advance(i, walkers, pending, results, NoAnswer(f"gave no answer ({step.reason})"))
                    continue
                step.value = _as_value(answer, step.op)
                self._advance(i, walkers, pending, results, step.value)
        return results

    def _request(self, result: Result, step: Step):
        """What the model is asked for `step`: (prompt ids with any tokens fixed after them, token budget, the fixed
        tokens' text, the fixed tokens), or None for a second look that has no token left to change. A second look
        writes the first answer up to its look-th least sure token, the model's second choice there, and lets the
        model go on."""
        expert = step.expert
        step.prompt, reference = make_trace(step.a, step.op, step.b, expert.format, expert.pad_width)
        prompt_ids, budget = encode(expert.tokenizer, step.prompt), len(encode(expert.tokenizer, reference)) + 1
        if step.look_of is None:
            return prompt_ids, budget, "", []
        first = result.steps[step.look_of - 1]
        written = encode(expert.tokenizer, first.completion)
        if first.alternatives is None:
            # text and ids must spell each other (they do for hf_arith's tokenizers): else nothing to look at
            spelled = expert.tokenizer.convert_ids_to_tokens(written)
            first.alternatives = (least_sure(expert.model, expert.tokenizer, prompt_ids, written)
                                  if "".join(spelled) == first.completion else [])
        if step.look > len(first.alternatives):
            return None
        position, token, _ = first.alternatives[step.look - 1]
        fixed = written[:position] + [token]
        if len(fixed) >= budget:
            return None
        tokens = expert.tokenizer.convert_ids_to_tokens(fixed)
        return prompt_ids + fixed, budget - len(fixed), "".join(tokens), tokens

    def _advance(self, i, walkers, pending, results, value) -> None:
        steps = results[i].steps
        try:
            request = walkers[i].send(value)
            while isinstance(request, str):  # "checked" / "refuted" / "unchecked": the fate of the latest answer
                if request != "unchecked":
                    steps[_attempt(steps) - 1].checked = request == "checked"
                request = walkers[i].send(None)
        except StopIteration as done:
            results[i].answer = _format(done.value)
            return
        except CheckFailed as failed:
            checked = steps[_numbered(steps)[-1] - 1]
            results[i].error = (f"step {len(_numbered(steps))} ({checked.a}{checked.op}{checked.b}): {failed}; "
                                f"no answer")
            results[i].refused = True
            return
        a, op, b, role = request
        if role == "look":
            first = _numbered(steps)[-1]
            look = sum(step.look_of == first for step in steps) + 1
            step = Step(a, op, b, look_of=first, look=look)
        else:
            step = Step(a, op, b, check_of=_attempt(steps) if role == "check" else None)
        steps.append(step)
        try:
            self.check_step(a, op, b, len(_numbered(steps)))
            step.expert = self.skills.expert_for(a, op, b)
            if step.expert is None:  # each operand within some model's limit, but no one model takes both
                raise StepError(f"step {len(_numbered(steps))} ({a}{op}{b}): no model of this calculator takes "
                                f"both operands")
        except StepError as error:
            if role == "check":  # the answer led to a check beyond what the model computes: it confirms nothing
                step.reason = f"cannot be computed ({str(error).partition(': ')[2]})"
                self._advance(i, walkers, pending, results, NoAnswer(step.reason))
            else:
                results[i].error, results[i].input_error = str(error), True
            return
        pending[i] = step


__all__ = ["DEFAULT_LOOKS", "Calculator", "CheckFailed", "Expert", "NoAnswer", "Result", "Skills", "Step", "StepError",
           "exact_value", "parse_expression", "step_name"]
