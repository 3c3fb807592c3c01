"""Arithmetic problems as text: a problem (a, op, b) plus a format gives (prompt, completion).

Pure functions of their arguments (no randomness, no state). Every format is documented in docs/formats.md with
an example. Operands are non-negative integers; subtraction may go negative; division gives quotient and remainder.

Formats (completion shown for 345+678 / 386*273):
  plain            1023                      a OP b=c
  reversed         3201                      answer digits least significant first (seed 001)
  reverse_cot      3201=1023                 reversed answer, '=', plain answer (seed 000)
  sum_cot          multiplication only, seed 000: partial products d_i*10^i*b with running sums in brackets
  reverse_sum_cot  same, with partial products and running sums written reversed (zeros kept)
                   (with zero padding, partial products and sums are padded to the answer's width too)
  cot              a step-by-step trace for every operation, one simple step per column or digit:
                   +  per column, least significant first: x+y+carry=CD (C carry out, D digit), then =answer
                   -  per column x-y-borrow=BD (B borrow out) whatever the sign; a borrow out of the last column
                      means a-b < 0, and a second pass 0-digit-borrow turns the digits into |a-b| (complement)
                   *  reverse_sum_cot (each partial product is one digit times b, each running sum one addition)
                   /  long division, per digit of a: current=Q[Q*b]R, all least significant digit first
  cot_div_<layout> cot with another division layout (unpadded, fixed, product, table, borrow, check, product_aligned,
                   check_aligned, nonrestoring); check guesses each quotient digit and corrects it by one after two
                   column-by-column checks (`_check_step`); *_aligned write b shifted to b's full width first and every
                   step's numbers shifted with it, so b's leading digit is at the same column for every divisor length;
                   nonrestoring finds each quotient digit bit by bit with no guess (`_nonrestoring_step`)
"""

import re

OPERATIONS = ("+", "-", "*", "/")
# Ways to write each step of a long division: as cot_div_<layout>, a format that is `cot` for + - * and writes division
# with that layout; `cot` itself writes division with DIVISION_LAYOUT. All are measured in docs/calculator.md.
DIVISION_LAYOUTS = ("unpadded", "fixed", "product", "table", "borrow", "check", "product_aligned", "check_aligned",
                    "nonrestoring")
# Layouts whose steps write a guess of the quotient digit that may be one off (and then correct it).
GUESS_LAYOUTS = ("check", "check_aligned")
# `cot`'s division: best of the first four layouts; the calc3 preset names cot_div_nonrestoring, which beat it later.
DIVISION_LAYOUT = "product"
# The same for subtraction: cot_sub_<layout>.
SUBTRACTION_LAYOUTS = ("sign", "complement")
SUBTRACTION_LAYOUT = "complement"  # no comparison before the first digit (docs/calculator.md)
FORMATS = ("plain", "reversed", "reverse_cot", "sum_cot", "reverse_sum_cot", "cot",
           *(f"cot_div_{layout}" for layout in DIVISION_LAYOUTS),
           *(f"cot_sub_{layout}" for layout in SUBTRACTION_LAYOUTS))
MULTIPLICATION_ONLY_FORMATS = ("sum_cot", "reverse_sum_cot")
# Seed 000's four multiplication formats, in the order of its comparison.
MULTIPLICATION_FORMATS = ("plain", "reverse_cot", "sum_cot", "reverse_sum_cot")
# Formats whose whole completion is the answer (no steps, no '=' inside).
ANSWER_ONLY_FORMATS = ("plain", "reversed")
# Every character any format can produce; the tokenizers' default vocabulary is built from this.
TRACE_CHARACTERS = "0123456789+-*/=[];r"
PROMPT_PATTERN = re.compile(r"(\d+)([+\-*/])(\d+)=")
# pad_width="longer": each problem zero-padded to its own longer operand (n digits), the answer to the width that
# implies (n + 1 digits for +): the layout of the published length-generalization recipes (Cho et al. 2024), where
# every answer has a fixed number of digits for its operands, so the end of the answer is at a fixed column.
PAD_TO_LONGER = "longer"


def parse_prompt(prompt: str) -> tuple[str, str, str]:
    """'045+7=' -> ('045', '+', '7'): the operand texts (padding kept) and the operator; ValueError otherwise."""
    match = PROMPT_PATTERN.fullmatch(prompt)
    if not match:
        raise ValueError(f"not an arithmetic prompt: {prompt!r} (expected e.g. '345+678=')")
    return match[1], match[2], match[3]


def check_problem(a, op, b) -> None:
    """Raises ValueError naming the bad value if (a, op, b) is not a problem this project supports."""
    if op not in OPERATIONS:
        raise ValueError(f"unknown operation {op!r}; expected one of {OPERATIONS}")
    for name, value in (("a", a), ("b", b)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"operand {name} must be a non-negative int, got {value!r}")
    if op == "/" and b == 0:
        raise ValueError("division by zero: the divisor b must be >= 1")


def check_format(fmt, op) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    if fmt in MULTIPLICATION_ONLY_FORMATS and op != "*":
        raise ValueError(f"format {fmt!r} exists for multiplication only, not for {op!r}")


def answer_width(op: str, pad_width: int) -> tuple[int, ...]:
    """Digits of the zero-padded answer: one width, or (quotient, remainder) widths for division."""
    return {"+": (pad_width + 1,), "-": (pad_width,), "*": (2 * pad_width,), "/": (pad_width, pad_width)}[op]


def resolve_pad_width(a: int, b: int, pad_width: int | str | None) -> int | None:
    """The pad width of one problem: `pad_width` itself, or for "longer" the digits of its longer operand."""
    if pad_width == PAD_TO_LONGER:
        return max(len(str(a)), len(str(b)))
    if pad_width is not None and (isinstance(pad_width, bool) or not isinstance(pad_width, int) or pad_width < 1):
        raise ValueError(f"pad_width must be None, an int >= 1 or {PAD_TO_LONGER!r}, got {pad_width!r}")
    return pad_width


def _pad(value: int, width: int | None) -> str:
    return str(value).zfill(width) if width else str(value)


def _operand_text(value: int, pad_width: int | None) -> str:
    text = _pad(value, pad_width)
    if pad_width is not None and len(text) > pad_width:
        raise ValueError(f"operand {value} has more than pad_width={pad_width} digits")
    return text


def answer_string(a: int, op: str, b: int, pad_width: int | str | None = None) -> str:
    """The plain final answer: '1023', '-333', '49r2' (quotient r remainder); zero-padded if pad_width is set."""
    check_problem(a, op, b)
    pad_width = resolve_pad_width(a, b, pad_width)
    widths = answer_width(op, pad_width) if pad_width else (None, None)
    if op == "+":
        return _pad(a + b, widths[0])
    if op == "-":
        return ("-" if a < b else "") + _pad(abs(a - b), widths[0])
    if op == "*":
        return _pad(a * b, widths[0])
    q, r = divmod(a, b)
    return f"{_pad(q, widths[0])}r{_pad(r, widths[1])}"


def reverse_answer(answer: str) -> str:
    """Reverses digits, keeping a leading sign in front and each part of 'QrR' in place: '-332'->'-233',
    '49r2'->'94r2'."""
    if answer.startswith("-"):
        return "-" + answer[1:][::-1]
    return "r".join(part[::-1] for part in answer.split("r"))


def make_prompt(a: int, op: str, b: int, pad_width: int | str | None = None) -> str:
    check_problem(a, op, b)
    pad_width = resolve_pad_width(a, b, pad_width)
    return f"{_operand_text(a, pad_width)}{op}{_operand_text(b, pad_width)}="


def _digits_lsb_first(text: str, n: int) -> list[int]:
    """Digits of a numeral, least significant first, extended with zeros to n columns."""
    digits = [int(ch) for ch in reversed(text)]
    return digits + [0] * (n - len(digits))


def _addition_cot(a_text: str, b_text: str) -> str:
    n = max(len(a_text), len(b_text))
    xs, ys = _digits_lsb_first(a_text, n), _digits_lsb_first(b_text, n)
    steps, carry = [], 0
    for x, y in zip(xs, ys):
        total = x + y + carry
        steps.append(f"{x}+{y}+{carry}={total // 10}{total % 10}")
        carry = total // 10
    return ";".join(steps)


def _column_differences(xs: list[int], ys: list[int]) -> tuple[list[str], list[int], int]:
    """x - y - borrow = BD per column, least significant first: the steps, the digits D and the last borrow."""
    steps, digits, borrow = [], [], 0
    for x, y in zip(xs, ys):
        diff = x - y - borrow
        borrow_out = 1 if diff < 0 else 0
        steps.append(f"{x}-{y}-{borrow}={borrow_out}{diff + 10 * borrow_out}")
        digits.append(diff + 10 * borrow_out)
        borrow = borrow_out
    return steps, digits, borrow


def _subtraction_cot(a_text: str, b_text: str, layout: str) -> str:
    """sign: the sign first, then the columns of the larger minus the smaller. complement: the columns of a - b
    whatever the sign; a borrow out of the last column means a - b < 0 and the digits are 10^n + a - b, so a second
    pass of columns 0 - digit - borrow turns them into |a - b| (every step local: the sign follows from one borrow)."""
    a, b = int(a_text), int(b_text)
    n = max(len(a_text), len(b_text))
    if layout == "sign":
        sign, (top, bottom) = ("+", (a_text, b_text)) if a >= b else ("-", (b_text, a_text))
        return sign + ";".join(_column_differences(_digits_lsb_first(top, n), _digits_lsb_first(bottom, n))[0])
    steps, digits, borrow = _column_differences(_digits_lsb_first(a_text, n), _digits_lsb_first(b_text, n))
    if borrow:
        steps += _column_differences([0] * n, digits)[0]
    return ";".join(steps)


def subtraction_layout(fmt: str) -> str:
    return fmt.removeprefix("cot_sub_") if fmt.startswith("cot_sub_") else SUBTRACTION_LAYOUT


def _sum_cot(a_text: str, b: int, reverse: bool, pad_width: int | None = None) -> str:
    # Seed 000: one term per digit of the FIRST operand (as written), least significant first.
    # Zero-padded data writes every partial product and running sum with the answer's 2 * pad_width digits, so each
    # digit sits at the same position in every trace (unpadded traces are seed 000's, byte for byte).
    width = 2 * pad_width if pad_width else None
    write = (lambda v: _pad(v, width)[::-1]) if reverse else (lambda v: _pad(v, width))
    terms, running = [], 0
    for i, digit in enumerate(_digits_lsb_first(a_text, len(a_text))):
        partial = digit * 10**i * b
        running += partial
        terms.append(f"{write(partial)}[{write(running)}]")
    return "+".join(terms)


def quotient_digits(a_text: str, b: int) -> list[int]:
    """The quotient digit of each step of a long division of a (as written, one step per digit) by b."""
    return [int(ch) for ch in str(int(a_text) // b).zfill(len(a_text))]


def _check_step(current: int, b: int, width: int, offset: int) -> str:
    """A quotient digit written as a guess and checked: 'C=G[P]D[X]qrR' (all numbers least significant digit first,
    C, P, D, X with `width` digits, R with width - 1). G = q + offset is the guess, P = G * b, D = C - P and X = D - b
    when D >= 0, D + b when D < 0, both modulo 10^width (a negative number shows as a leading 9: |C - P| < 10^(width-1)
    here, a non-negative D below 2b). Each is a column-by-column operation on numbers already written, so the only
    non-local choice (q) becomes a guess that is then corrected: q = G - 1 if D < 0, G + 1 if X >= 0 (D >= b), else G;
    R is D or X accordingly."""
    q = current // b
    guess = q + offset
    if offset not in (-1, 0, 1) or not 0 <= guess <= 9:
        raise ValueError(f"a guess must be the quotient digit {q} or one off it within 0..9, got offset {offset!r}")
    low = current - guess * b
    other = low - b if low >= 0 else low + b
    modulus = 10**width
    return (f"{_pad(current, width)[::-1]}={guess}[{_pad(guess * b, width)[::-1]}]{_pad(low % modulus, width)[::-1]}"
            f"[{_pad(other % modulus, width)[::-1]}]{q}r{_pad(current % b, width - 1)[::-1]}")


# The binary weights of a quotient digit's bits, largest first: 8 + 4 + 2 + 1 covers 0..9.
NONRESTORING_MULTIPLES = (8, 4, 2, 1)


def _nonrestoring_step(current: int, b: int, width: int) -> str:
    """A quotient digit found bit by bit with no guess: 'C-V1sV2sV3sV4=qrR' (numbers least significant digit first; C
    with `width` digits, each V with width + 1 modulo 10^(width + 1), so a negative one shows as a leading 9; R with
    width - 1). V1 = C - 8b; then each sign s is '-' if the V before it is >= 0, else '+', and V(k+1) = Vk -/+ m b for
    m = 4, 2, 1 (non-restoring division: adding m b back to a negative V and taking m b / 2 away in one step is the
    same as restoring V and trying m b / 2). Bit k of q is Vk >= 0, so q = 8 [V1 >= 0] + 4 [V2 >= 0] + ...; r is V4,
    plus b if V4 < 0. Every digit after C is one column of an addition or subtraction of numbers already written
    (the multiples of b are the trace's first steps), and a running value equal to m b gives 0, not a borrow: the
    comparison q = floor(C / b) is never made in one token."""
    modulus, value, parts = 10 ** (width + 1), current, [_pad(current, width)[::-1]]
    for k, multiple in enumerate(NONRESTORING_MULTIPLES):
        subtract = k == 0 or value >= 0
        value += -multiple * b if subtract else multiple * b
        parts.append(("-" if subtract else "+") + _pad(value % modulus, width + 1)[::-1])
    return "".join(parts) + f"={current // b}r{_pad(current % b, width - 1)[::-1]}"


def _long_division_cot(a_text: str, b_text: str, layout: str, guess_offsets=None) -> str:
    """One step per digit of a: the running value `current` (remainder * 10 + the digit), its quotient digit q and
    remainder r. unpadded: 'current=qrr'; fixed: the same with current and r zero-padded to b's width + 1 and b's width
    (a fixed position for every digit); product: current, q, q * b in brackets and r, each number written least
    significant digit first, so r = current - q * b is a column-by-column subtraction; check: q guessed, then checked
    and corrected by two column-by-column operations (`_check_step`; guess_offsets: each step's guess minus q, all 0
    by default). product_aligned, check_aligned: first b * 10^z (z = b's leading zeros in b_text), then the steps of
    product or check with current, b and r all multiplied by 10^z (q is unchanged): b's leading digit is then at the
    top column whatever its length, so choosing q is one function of the top columns for 1-, 2- and 3-digit
    divisors (normalized long division); the final answer's remainder is r itself. nonrestoring: first b, 2b, 4b, 8b
    (each reversed, b's width + 1 digits; each the one before doubled), then `_nonrestoring_step` per digit."""
    b = int(b_text)
    width_current, width_r = len(b_text) + 1, len(b_text)  # current < 10 b, r < b
    steps, remainder = [], 0
    base = layout.removesuffix("_aligned")
    shift = 10 ** (len(b_text) - len(str(b))) if layout.endswith("_aligned") else 1
    if guess_offsets is not None:
        if layout not in GUESS_LAYOUTS or len(guess_offsets) != len(a_text):
            raise ValueError(f"guess_offsets need a check layout and one offset per digit of a ({len(a_text)}), "
                             f"got {guess_offsets!r} with layout {layout!r}")
    if layout == "table":  # the multiples 1b ... 9b first (each the previous plus b): q is then a comparison
        steps = [_pad(k * b, width_current)[::-1] for k in range(1, 10)]
    if layout.endswith("_aligned"):
        steps = [_pad(b * shift, width_r)[::-1]]
    if layout == "nonrestoring":
        steps = [_pad(m * b, width_current)[::-1] for m in reversed(NONRESTORING_MULTIPLES)]
    for i, ch in enumerate(a_text):
        current = remainder * 10 + int(ch)
        digit, remainder = divmod(current, b)
        if base == "check":
            steps.append(_check_step(current * shift, b * shift, width_current,
                                     guess_offsets[i] if guess_offsets else 0))
        elif layout == "nonrestoring":
            steps.append(_nonrestoring_step(current, b, width_current))
        elif layout == "unpadded":
            steps.append(f"{current}={digit}r{remainder}")
        elif layout == "fixed":
            steps.append(f"{_pad(current, width_current)}={digit}r{_pad(remainder, width_r)}")
        elif layout == "borrow":
            top, product = _pad(current, width_current)[::-1], _pad(digit * b, width_current)[::-1]
            columns, borrow = [], 0
            for x, y in zip(top, product):
                difference = int(x) - int(y) - borrow
                borrow = int(difference < 0)
                columns.append(f"{difference + 10 * borrow}{borrow}")
            steps.append(f"{top}={digit}[{product}]{''.join(columns)}")
        else:  # product, product_aligned, table
            steps.append(f"{_pad(current * shift, width_current)[::-1]}={digit}"
                         f"[{_pad(digit * b * shift, width_current)[::-1]}]{_pad(remainder * shift, width_r)[::-1]}")
    return ";".join(steps)


def division_layout(fmt: str) -> str:
    return fmt.removeprefix("cot_div_") if fmt.startswith("cot_div_") else DIVISION_LAYOUT


def make_completion(a: int, op: str, b: int, fmt: str = "plain", pad_width: int | str | None = None,
                    guess_offsets=None) -> str:
    """The text the model must produce after the prompt's '='. guess_offsets (the check division layout only): each
    step's written guess minus its quotient digit (-1, 0 or 1), for training traces that show a correction."""
    check_problem(a, op, b)
    check_format(fmt, op)
    pad_width = resolve_pad_width(a, b, pad_width)
    answer = answer_string(a, op, b, pad_width)
    if guess_offsets is not None and (op != "/" or not fmt.startswith("cot")
                                      or division_layout(fmt) not in GUESS_LAYOUTS):
        raise ValueError(f"guess_offsets are for division in a check layout (cot_div_check, cot_div_check_aligned), "
                         f"not {op!r} in {fmt!r}")
    if fmt == "plain":
        return answer
    if fmt == "reversed":
        return reverse_answer(answer)
    if fmt == "reverse_cot":
        return f"{reverse_answer(answer)}={answer}"
    a_text, b_text = _operand_text(a, pad_width), _operand_text(b, pad_width)
    if fmt in ("sum_cot", "reverse_sum_cot") or (fmt.startswith("cot") and op == "*"):
        return f"{_sum_cot(a_text, b, reverse=fmt != 'sum_cot', pad_width=pad_width)}={answer}"
    if op == "+":
        steps_text = _addition_cot(a_text, b_text)
    elif op == "-":
        steps_text = _subtraction_cot(a_text, b_text, subtraction_layout(fmt))
    else:
        steps_text = _long_division_cot(a_text, b_text, division_layout(fmt), guess_offsets)
    return f"{steps_text}={answer}"


def make_trace(a: int, op: str, b: int, fmt: str = "plain", pad_width: int | str | None = None,
               guess_offsets=None) -> tuple[str, str]:
    """(prompt, completion) for one problem, e.g. make_trace(1, '+', 9, 'reversed') == ('1+9=', '01');
    pad_width: None, a width for every problem (zero_pad), or "longer" (each problem padded to its longer operand:
    make_trace(7, '+', 45, 'reversed', 'longer') == ('07+45=', '250'))."""
    return make_prompt(a, op, b, pad_width), make_completion(a, op, b, fmt, pad_width, guess_offsets)


def final_answer_text(completion: str, fmt: str) -> str:
    """The part of a completion that is the final answer, as written (reversed formats stay reversed): the whole
    completion in the answer-only formats, the text after the last '=' in the others."""
    return completion if fmt in ANSWER_ONLY_FORMATS else completion.rpartition("=")[2]


def read_answer(completion: str, op: str, fmt: str) -> str | None:
    """The canonical plain answer a completion gives ('1023', '-333', '49r2'; zero padding dropped), or None if its
    final answer is not a well-formed number for `op`."""
    final = final_answer_text(completion, fmt)
    if fmt == "reversed":
        final = reverse_answer(final)  # reversing is its own inverse
    pattern = r"(\d+)r(\d+)" if op == "/" else (r"(-?)(\d+)" if op == "-" else r"()(\d+)")
    match = re.fullmatch(pattern, final)
    if not match:
        return None
    if op == "/":
        return f"{int(match[1])}r{int(match[2])}"
    value = int(match[2])
    return f"{match[1]}{value}" if value else "0"


def max_completion_length(op: str, fmt: str, max_digits: int) -> int:
    """The longest completion, in characters, that `fmt` writes for operands of at most `max_digits` digits (zero
    padded or not). Derived from the format (a test checks it bounds every trace and is reached), so that
    generation budgets and position tables are exact rather than guessed."""
    check_format(fmt, op)
    d = max_digits
    answer = {"+": d + 1, "-": d + 1, "*": 2 * d, "/": 2 * d + 1}[op]  # "-" sign; "QrR"
    if fmt in ANSWER_ONLY_FORMATS:
        return answer
    if fmt == "reverse_cot":
        return 2 * answer + 1
    if op == "*":  # sum_cot, reverse_sum_cot and cot: per digit of a, "P[S]" with P and S at most 2d digits
        return d * (4 * d + 2) + (d - 1) + 1 + answer
    if op == "+":  # "x+y+c=CD" per column
        return 8 * d + (d - 1) + 1 + answer
    if op == "-" and subtraction_layout(fmt) == "complement":  # up to two passes of "x-y-b=BD" per column
        return 8 * 2 * d + (2 * d - 1) + 1 + answer
    if op == "-":  # sign, then "x-y-b=BD" per column
        return 1 + 8 * d + (d - 1) + 1 + answer
    layout = division_layout(fmt)
    if layout.endswith("_aligned"):  # b shifted and its ";" first, then the steps of the base layout
        return d + 1 + max_completion_length(op, f"cot_div_{layout.removesuffix('_aligned')}", max_digits)
    if layout == "fixed":  # "current=QrR": d + 1, 1, 1, 1, d characters per digit of a
        return d * (2 * d + 4) + (d - 1) + 1 + answer
    if layout == "product":  # "current=Q[P]R": d + 1, 1, 1, 1, d + 1, 1, d
        return d * (3 * d + 6) + (d - 1) + 1 + answer
    if layout == "borrow":  # "current=Q[P]" then a digit and a borrow per column of current: d + 1, 1, 1, 1, d + 1,
        return d * (4 * d + 8) + (d - 1) + 1 + answer  # 1, 2 (d + 1)
    if layout == "check":  # "C=G[P]D[X]qrR": d + 1, 1, 1, 1, d + 1, 1, d + 1, 1, d + 1, 1, 1, 1, d
        return d * (5 * d + 12) + (d - 1) + 1 + answer
    if layout == "nonrestoring":  # b, 2b, 4b, 8b (d + 1 digits, ";"), then "C-V1sV2sV3sV4=qrR" per digit of a:
        return 4 * (d + 2) + d * (6 * d + 16) + (d - 1) + 1 + answer  # d + 1, 4 (1 + d + 2), 1, 1, 1, d
    if layout == "table":  # nine multiples of d + 1 digits and their ";", then the product layout's steps
        return 9 * (d + 2) + d * (3 * d + 6) + (d - 1) + 1 + answer
    # "current=QrR" per digit of a; at step j (0-based) current and R are at most j + 1 digits: sum of 2(j+1) + 3
    return d * d + 4 * d + (d - 1) + 1 + answer
