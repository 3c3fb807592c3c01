"""AlignedPairTokenizer: seed 003's digit-pair idea, made lossless and general.

The prompt `a OP b=` becomes the operator token, then one token per digit column holding the ORDERED pair
(digit of a, digit of b), least significant column first, padded to `max_digits` columns, then `=`. Everything
after `=` is one token per character, as in CharTokenizer. So `123+45=` with max_digits=4 is

    ['+', '3|5', '2|4', '1|_', '_|_', '=']

The model sees the two digits it must combine in ONE token, at a position that does not depend on the operand
lengths. Columns beyond an operand's length hold the blank digit `_` rather than 0, so that decoding is lossless:
`7+5=` and `007+005=` stay distinct (pad the operands with `pad_width` in the data if you want explicit zeros).
"""

import re

from transformers import PreTrainedTokenizer

from .tokenization_char import DEFAULT_CHARACTERS, SPECIAL_TOKENS

BLANK_DIGIT = "_"
PAIR_DIGITS = "0123456789" + BLANK_DIGIT
OPERATORS = "+-*/"
PROBLEM_PATTERN = re.compile(r"(\d+)([+\-*/])(\d+)=")


class AlignedPairTokenizer(PreTrainedTokenizer):
    """Operator, ordered digit-pair columns (least significant first), '=', then characters.

    Args:
        max_digits: number of columns every prompt is padded to; a longer operand raises `ValueError`.

    Text that does not start with a problem (a completion on its own, say) is tokenized per character.
    """

    vocab_files_names = {}  # the vocabulary is fixed; max_digits is saved in tokenizer_config.json
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, max_digits: int = 10, **kwargs):
        if isinstance(max_digits, bool) or not isinstance(max_digits, int) or max_digits <= 0:
            raise ValueError(f"max_digits must be a positive int, got {max_digits!r}")
        self.max_digits = max_digits
        pairs = [f"{x}|{y}" for x in PAIR_DIGITS for y in PAIR_DIGITS]
        tokens = list(SPECIAL_TOKENS.values()) + list(DEFAULT_CHARACTERS) + pairs
        self.encoder = {token: i for i, token in enumerate(tokens)}
        self.decoder = dict(enumerate(tokens))
        for name, token in SPECIAL_TOKENS.items():
            kwargs.setdefault(name, token)
        kwargs.setdefault("padding_side", "left")
        kwargs.setdefault("special_tokens_pattern", "none")
        super().__init__(max_digits=max_digits, **kwargs)

    @property
    def vocab_size(self) -> int:
        return len(self.encoder)

    def get_vocab(self) -> dict[str, int]:
        return {**self.encoder, **self.added_tokens_encoder}

    def _tokenize(self, text: str, **kwargs) -> list[str]:
        tokens, rest_start = [], 0
        match = PROBLEM_PATTERN.match(text)
        if match:
            a, op, b = match.groups()
            for name, operand in (("a", a), ("b", b)):
                if len(operand) > self.max_digits:
                    raise ValueError(
                        f"operand {name}={operand} has {len(operand)} digits, more than max_digits={self.max_digits}"
                    )
            a_cols = a[::-1].ljust(self.max_digits, BLANK_DIGIT)
            b_cols = b[::-1].ljust(self.max_digits, BLANK_DIGIT)
            tokens = [op] + [f"{x}|{y}" for x, y in zip(a_cols, b_cols)] + ["="]
            rest_start = match.end()
        for position in range(rest_start, len(text)):
            if text[position] not in self.encoder:
                raise ValueError(
                    f"character {text[position]!r} at position {position} of {text[:40]!r} is not in the "
                    f"vocabulary of this {type(self).__name__}"
                )
        return tokens + list(text[rest_start:])

    def _convert_token_to_id(self, token: str) -> int:
        return self.encoder[token]

    def _convert_id_to_token(self, index: int) -> str:
        return self.decoder[index]

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
