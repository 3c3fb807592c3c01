"""AlignedPairTokenizer: seed 003's digit-pair idea, made lossless and general.

The prompt `a OP b=` becomes the operator token, then one token per digit column holding the ORDERED pair
(digit of a, digit of b), least significant column first, then `=`. Everything after `=` is one token per character,
as in CharTokenizer. So `123+45=` with max_digits=4 is

    ['+', '3|5', '2|4', '1|_', '_|_', '=']

The model sees the two digits it must combine in ONE token. With `fixed_columns=True` (the default) every prompt has
`max_digits` columns, so each column sits at a position that does not depend on the operand lengths; with
`fixed_columns=False` a prompt has as many columns as its longer operand (for long operands and length
generalization, where position coupling gives columns their positions instead). Columns beyond an operand's length
hold the blank digit `_` rather than 0, so decoding is lossless: `7+5=` and `007+005=` stay distinct.
"""

import re

from .tokenization_char import DEFAULT_CHARACTERS, SPECIAL_TOKENS, CharTokenizer

BLANK_DIGIT = "_"
PAIR_DIGITS = "0123456789" + BLANK_DIGIT
OPERATORS = "+-*/"
# Kept here rather than imported from hf_arith.data: tokenizer files import only transformers and each other.
PROBLEM_PATTERN = re.compile(r"(\d+)([+\-*/])(\d+)=")
PAIRS = [f"{x}|{y}" for x in PAIR_DIGITS for y in PAIR_DIGITS]


class AlignedPairTokenizer(CharTokenizer):
    """Operator, ordered digit-pair columns (least significant first), '=', then characters.

    Args:
        max_digits: the longest operand accepted (and, with fixed_columns, the number of columns of every prompt);
            a longer operand raises `ValueError`.
        fixed_columns: pad every prompt to `max_digits` columns (True) or to its longer operand (False).

    Text that does not start with a problem (a completion on its own, say) is tokenized per character.
    """

    vocab_files_names = {}  # the vocabulary is fixed; max_digits and fixed_columns go to tokenizer_config.json

    def __init__(self, max_digits: int = 10, fixed_columns: bool = True, **kwargs):
        if isinstance(max_digits, bool) or not isinstance(max_digits, int) or max_digits <= 0:
            raise ValueError(f"max_digits must be a positive int, got {max_digits!r}")
        if not isinstance(fixed_columns, bool):
            raise ValueError(f"fixed_columns must be a bool, got {fixed_columns!r}")
        self.max_digits, self.fixed_columns = max_digits, fixed_columns
        super().__init__(max_digits=max_digits, fixed_columns=fixed_columns, **kwargs)

    def _build_vocabulary(self, vocab_file, characters) -> dict[str, int]:
        return {token: i for i, token in enumerate([*SPECIAL_TOKENS.values(), *DEFAULT_CHARACTERS, *PAIRS])}

    def digit_layout(self) -> dict:
        return {**super().digit_layout(), "pair_token_ids": [self.encoder[p] for p in PAIRS]}

    def _tokenize(self, text: str, **kwargs) -> list[str]:
        match = PROBLEM_PATTERN.match(text)
        if not match:
            return super()._tokenize(text)
        a, op, b = match.groups()
        for name, operand in (("a", a), ("b", b)):
            if len(operand) > self.max_digits:
                raise ValueError(f"operand {name}={operand} has {len(operand)} digits, more than "
                                 f"max_digits={self.max_digits}")
        columns = self.max_digits if self.fixed_columns else max(len(a), len(b))
        a_cols, b_cols = a[::-1].ljust(columns, BLANK_DIGIT), b[::-1].ljust(columns, BLANK_DIGIT)
        self._check_characters(text, start=match.end())
        return [op, *(f"{x}|{y}" for x, y in zip(a_cols, b_cols)), "=", *text[match.end():]]

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        out, i = [], 0
        while i < len(tokens):
            token = tokens[i]
            if token in OPERATORS and i + 1 < len(tokens) and "|" in tokens[i + 1]:
                j = i + 1
                while j < len(tokens) and "|" in tokens[j]:
                    j += 1
                columns = [t.split("|") for t in tokens[i + 1 : j]]
                a = "".join(x for x, _ in reversed(columns) if x != BLANK_DIGIT)
                b = "".join(y for _, y in reversed(columns) if y != BLANK_DIGIT)
                out.append(f"{a}{token}{b}")
                i = j
            else:
                out.append(token)
                i += 1
        return "".join(out)

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple:
        return ()


__all__ = ["AlignedPairTokenizer"]
