"""verify_trace: an independent checker of completions in every trace format.

It does not call the trace writers: each step's expected text is recomputed here from the operands with plain
integer arithmetic, so a bug in a writer shows up as a disagreement in the tests. A completion is read as a list of
steps (the last one is the final answer); the verdict says whether the final answer is right and which step first
goes wrong. This is how model outputs get step-level scores.
"""

import re
from dataclasses import dataclass

PROMPT_PATTERN = re.compile(r"(\d+)([+\-*/])(\d+)=")
DIVISION_FORMATS = ("cot_div_unpadded", "cot_div_fixed", "cot_div_product", "cot_div_table", "cot_div_borrow",
                    "cot_div_check", "cot_div_product_aligned", "cot_div_check_aligned", "cot_div_nonrestoring")
SUBTRACTION_FORMATS = ("cot_sub_sign", "cot_sub_complement")
# What "cot" means for division and subtraction; kept here (not imported from the writers), compared by a test.
DIVISION_COT = "cot_div_product"
SUBTRACTION_COT = "cot_sub_complement"
CANDIDATE_FORMATS = {
    "+": ("plain", "reversed", "reverse_cot", "cot"),
    "-": ("plain", "reversed", "reverse_cot", *SUBTRACTION_FORMATS),
    "*": ("plain", "reversed", "reverse_cot", "sum_cot", "reverse_sum_cot"),
    "/": ("plain", "reversed", "reverse_cot", *DIVISION_FORMATS),
}


@dataclass(frozen=True)
class TraceVerdict:
    """format: the format the completion was read as ('a|b' when several formats read it as valid);
    answer_correct: the final answer has the right value;
    valid: every step is right; first_error_step: index of the first wrong step (None if valid), where steps are
    numbered in writing order and the final answer is the last; num_steps: steps the format expects."""

    format: str
    answer_correct: bool
    valid: bool
    first_error_step: int | None
    num_steps: int


def _digit_columns(text: str, n: int) -> list[int]:
    return [int(text[-1 - i]) if i < len(text) else 0 for i in range(n)]


def _accepted_answers(a_text: str, op: str, b_text: str) -> set[str]:
    """The plain answer as text: canonical, or zero-padded when the prompt's operands are padded to one width."""
    a, b = int(a_text), int(b_text)
    accepted = set()
    widths = [None] + ([len(a_text)] if len(a_text) == len(b_text) else [])
    for w in widths:
        pad = (lambda v, k: str(v).zfill(k)) if w else (lambda v, k: str(v))
        if op == "+":
            accepted.add(pad(a + b, (w or 0) + 1))
        elif op == "-":
            accepted.add(("-" if a < b else "") + pad(abs(a - b), w))
        elif op == "*":
            accepted.add(pad(a * b, 2 * (w or 0)))
        else:
            accepted.add(f"{pad(a // b, w)}r{pad(a % b, w)}")
    return accepted


def _unreverse(text: str, op: str) -> str:
    if op == "/":
        return "r".join(part[::-1] for part in text.split("r"))
    return text[0] + text[1:][::-1] if text.startswith("-") else text[::-1]


def _complement_steps(a_text, b_text):
    """a - b column by column whatever the sign; after a borrow out of the last column, 0 - digit - borrow per column
    of those digits (which are 10^n + a - b) gives |a - b|."""
    n = max(len(a_text), len(b_text))
    value = int(a_text) - int(b_text)
    first = value % 10**n  # the digits the first pass writes
    xs, ys = _digit_columns(a_text, n), _digit_columns(b_text, n)
    passes = [(xs, ys, [int(d) for d in str(first).zfill(n)[::-1]])]
    if value < 0:
        passes.append(([0] * n, passes[0][2], [int(d) for d in str(-value).zfill(n)[::-1]]))
    steps = []
    for tops, bottoms, digits in passes:
        borrow = 0
        for x, y, digit in zip(tops, bottoms, digits):
            out = 1 if x - y - borrow < 0 else 0
            steps.append(f"{x}-{y}-{borrow}={out}{digit}")
            borrow = out
    return steps


def _column_steps(a_text, op, b_text):
    """Expected steps of the column-wise chain of thought for + and - (sign layout), as text."""
    a, b = int(a_text), int(b_text)
    if op == "-" and a < b:
        a_text, b_text = b_text, a_text
    n = max(len(a_text), len(b_text))
    xs, ys = _digit_columns(a_text, n), _digit_columns(b_text, n)
    steps, carry = [], 0
    for x, y in zip(xs, ys):
        if op == "+":
            out, digit = divmod(x + y + carry, 10)
            steps.append(f"{x}+{y}+{carry}={out}{digit}")
        else:
            out = 1 if x - y - carry < 0 else 0
            steps.append(f"{x}-{y}-{carry}={out}{x - y - carry + 10 * out}")
        carry = out
    return (["-" if a < b else "+"] if op == "-" else []) + steps


def _product_steps(a_text, b, reverse, width=None):
    """Partial products with running sums; `width` zero-pads each number (the padded traces of padded prompts)."""
    text = (lambda v: str(v).zfill(width)) if width else str
    write = (lambda v: text(v)[::-1]) if reverse else text
    steps, running = [], 0
    for i, digit in enumerate(_digit_columns(a_text, len(a_text))):
        running += digit * 10**i * b
        steps.append(f"{write(digit * 10**i * b)}[{write(running)}]")
    return steps


def _written_guess(step: str | None) -> int | None:
    """The guessed quotient digit of a check-layout step as written ('4300=5[...' -> 5), None if unreadable."""
    head, sep, rest = (step or "").partition("=")
    return int(rest[0]) if sep and rest[:1].isdigit() else None


def _division_steps(a_text, b_text, fmt, written=()):
    """Each step's expected text; for cot_div_check(_aligned) the step of the guess the completion wrote (`written`:
    its steps) when that guess is the quotient digit or one off it, else the step of the right guess. The _aligned
    formats: b * 10^z first (z: b's leading zeros as written), then every number of a step times 10^z."""
    b = int(b_text)
    wide, narrow = len(b_text) + 1, len(b_text)

    def fixed(value, width, reverse=False):
        text = str(value).rjust(width, "0")
        return text[::-1] if reverse else text

    steps, remainder = [], 0
    aligned = fmt.endswith("_aligned")
    scale = 10 ** (len(b_text) - len(str(b))) if aligned else 1
    if fmt == "cot_div_table":
        steps = [fixed(k * b, wide, True) for k in range(1, 10)]
    if aligned:
        steps = [fixed(b * scale, narrow, True)]
    if fmt == "cot_div_nonrestoring":
        steps = [fixed(k * b, wide, True) for k in (1, 2, 4, 8)]
    for ch in a_text:
        current = remainder * 10 + int(ch)
        quotient, remainder = current // b, current % b
        if fmt == "cot_div_unpadded":
            steps.append(f"{current}={quotient}r{remainder}")
        elif fmt == "cot_div_fixed":
            steps.append(f"{fixed(current, wide)}={quotient}r{fixed(remainder, narrow)}")
        elif fmt in ("cot_div_check", "cot_div_check_aligned"):
            guess = _written_guess(written[len(steps)] if len(steps) < len(written) else None)
            if guess is None or abs(guess - quotient) > 1:
                guess = quotient
            # in units of 10^z: the guess's remainder (negative when the guess is too large) and the corrected one
            below = current - guess * b
            corrected = below + b if below < 0 else below - b
            steps.append(f"{fixed(current * scale, wide, True)}={guess}[{fixed(guess * b * scale, wide, True)}]"
                         f"{fixed(below * scale % 10**wide, wide, True)}"
                         f"[{fixed(corrected * scale % 10**wide, wide, True)}]"
                         f"{quotient}r{fixed(remainder * scale, narrow, True)}")
        elif fmt == "cot_div_nonrestoring":
            # restoring division, which writes the same values: try the running value minus 8b, 4b, 2b, b in turn,
            # keeping a try that is >= 0; each try is written modulo 10^(wide + 1), its sign says whether the try
            # before it was kept ("-": take the next multiple from it) or not ("+": the writer's add-back)
            text, kept, last = fixed(current, wide, True), current, None
            for multiple in (8, 4, 2, 1):
                value = kept - multiple * b
                text += ("-" if last is None or last >= 0 else "+") + fixed(value % 10 ** (wide + 1), wide + 1, True)
                kept, last = (value if value >= 0 else kept), value
            steps.append(f"{text}={quotient}r{fixed(remainder, narrow, True)}")
        elif fmt == "cot_div_borrow":
            # column i: the remainder's digit i and whether current's low i + 1 digits are below the product's
            # (that is the borrow out of column i), from the two numbers, not from a column loop
            product = quotient * b
            columns = "".join(f"{remainder // 10**i % 10}{int(current % 10**(i + 1) < product % 10**(i + 1))}"
                              for i in range(wide))
            steps.append(f"{fixed(current, wide, True)}={quotient}[{fixed(product, wide, True)}]{columns}")
        else:
            steps.append(f"{fixed(current * scale, wide, True)}={quotient}[{fixed(quotient * b * scale, wide, True)}]"
                         f"{fixed(remainder * scale, narrow, True)}")
    return steps


def read_steps(completion: str, op: str, fmt: str) -> list[str]:
    """Splits a completion into the steps `verify_trace` counts (separators dropped); the last item is always the
    final answer."""
    if fmt in ("plain", "reversed"):
        return [completion]
    if fmt == "reverse_cot":
        return completion.split("=")
    body, _, final = completion.rpartition("=")
    if op == "*":
        return body.split("+") + [final]
    if op == "-" and fmt == "cot_sub_sign":
        return ([body[:1]] + body[1:].split(";") if body else [""]) + [final]
    return body.split(";") + [final]


def _verdict(a_text, op, b_text, completion, fmt) -> TraceVerdict:
    if op == "*" and fmt in ("sum_cot", "reverse_sum_cot") and len(a_text) == len(b_text):
        # A prompt with operands of one width may be zero-padded: its steps may then be padded to 2 * width.
        verdicts = [_verdict_with(a_text, op, b_text, completion, fmt, width) for width in (None, 2 * len(a_text))]
        return max(verdicts, key=lambda v: (v.valid, v.first_error_step or 0, v.answer_correct))
    return _verdict_with(a_text, op, b_text, completion, fmt)


def _verdict_with(a_text, op, b_text, completion, fmt, product_width=None) -> TraceVerdict:
    b = int(b_text)
    accepted = _accepted_answers(a_text, op, b_text)
    steps = read_steps(completion, op, fmt)
    final = _unreverse(steps[-1], op) if fmt == "reversed" else steps[-1]
    answer_correct = final in accepted
    if fmt in ("plain", "reversed"):
        expected_steps = []
    elif fmt == "reverse_cot":
        expected_steps = [None]  # the reversed answer, checked by value below
    elif op == "-" and fmt == "cot_sub_complement":
        expected_steps = _complement_steps(a_text, b_text)
    elif op in "+-":
        expected_steps = _column_steps(a_text, op, b_text)
    elif op == "*":
        expected_steps = _product_steps(a_text, b, reverse=fmt != "sum_cot", width=product_width)
    else:
        expected_steps = _division_steps(a_text, b_text, fmt, steps[:-1])

    num_steps = len(expected_steps) + 1
    first_error = None
    for i, expected in enumerate(expected_steps):
        actual = steps[i] if i < len(steps) - 1 else None
        ok = actual is not None and (
            _unreverse(actual, op) in accepted if expected is None else actual == expected
        )
        if not ok:
            first_error = i
            break
    if first_error is None and fmt == "reverse_cot" and len(steps) == 2 and steps[1] != _unreverse(steps[0], op):
        first_error = 1  # the plain answer must be the reversed one read backwards, padding included
    if first_error is None and (len(steps) != num_steps or not answer_correct):
        first_error = min(len(steps) - 1, num_steps - 1) if answer_correct else num_steps - 1
    return TraceVerdict(fmt, answer_correct, first_error is None, first_error, num_steps)


def verify_trace(prompt: str, completion: str, fmt: str | None = None) -> TraceVerdict:
    """Checks `completion` against the problem in `prompt` (e.g. '345+678=').

    Pass the model's format: a completion is then judged in that format only. With `fmt=None` (a free-standing
    trace) every format possible for the operation is tried: a completion valid in exactly one of them gets that
    format's verdict; valid in several, the verdict's format names them all ('plain|reversed'), since the reading
    is ambiguous; valid in none, the verdict of the format read furthest before its first error is returned.
    Raises ValueError for a prompt that is not a problem or a format that does not exist for its operation.
    """
    match = PROMPT_PATTERN.fullmatch(prompt)
    if not match:
        raise ValueError(f"not an arithmetic prompt: {prompt!r} (expected e.g. '345+678=')")
    a_text, op, b_text = match.groups()
    if op == "/" and int(b_text) == 0:
        raise ValueError(f"division by zero in prompt {prompt!r}")
    formats = CANDIDATE_FORMATS[op]
    if fmt is not None:
        # cot_div_* changes division only, cot_sub_* subtraction only; each is cot for the other operations
        if fmt.startswith("cot") and op == "*":
            fmt = "reverse_sum_cot"
        elif fmt.startswith("cot") and op == "/" and not fmt.startswith("cot_div_"):
            fmt = DIVISION_COT
        elif fmt.startswith("cot") and op == "-" and not fmt.startswith("cot_sub_"):
            fmt = SUBTRACTION_COT
        elif fmt.startswith("cot") and op == "+":
            fmt = "cot"
        if fmt not in formats:
            raise ValueError(f"format {fmt!r} does not exist for {op!r}; expected one of {formats}")
        formats = (fmt,)
    verdicts = [_verdict(a_text, op, b_text, completion, f) for f in formats]
    valid = [v for v in verdicts if v.valid]
    if len(valid) > 1:
        # e.g. '11+0=' completed with '11' is right as plain and as reversed: the verdict says it cannot tell
        return TraceVerdict("|".join(v.format for v in valid), True, True, None, valid[0].num_steps)
    if valid:
        return valid[0]
    return max(verdicts, key=lambda v: (v.first_error_step, v.answer_correct))


__all__ = ["TraceVerdict", "read_steps", "verify_trace"]
