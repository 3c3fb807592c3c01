"""CharTokenizer: one token per character, for arithmetic traces and for character-level language modelling."""

import json
import os

from transformers import PreTrainedTokenizer

# Every character of every trace format hf_arith writes (hf_arith.data.traces.TRACE_CHARACTERS, checked by a test)
# plus the space of seed 000's padded prompts. Kept here because tokenizer files import only transformers.
DEFAULT_CHARACTERS = "0123456789+-*/=[];r "
SPECIAL_TOKENS = {"pad_token": "<pad>", "bos_token": "<bos>", "eos_token": "<eos>", "unk_token": "<unk>"}
DIGITS = "0123456789"


class CharTokenizer(PreTrainedTokenizer):
    """One token per character. Ids: `<pad>`=0, `<bos>`=1, `<eos>`=2, `<unk>`=3, then the characters in order.

    Args:
        vocab_file: a `vocab.json` written by `save_pretrained` (token -> id).
        characters: the characters to cover, in id order; defaults to the arithmetic alphabet.
            `CharTokenizer.from_corpus(text)` builds one from a text corpus.

    A character outside the vocabulary raises `ValueError` naming it and its position: it is never mapped to
    `<unk>` silently. Pads on the left by default, as batched generation needs.
    """

    vocab_files_names = {"vocab_file": "vocab.json"}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, vocab_file: str | None = None, characters: str | None = None, **kwargs):
        # The vocabulary must exist before the base __init__, which calls get_vocab().
        self.encoder = self._build_vocabulary(vocab_file, characters)
        self.decoder = {i: token for token, i in self.encoder.items()}
        for name, token in SPECIAL_TOKENS.items():
            kwargs.setdefault(name, token)
        kwargs.setdefault("padding_side", "left")
        kwargs.setdefault("special_tokens_pattern", "none")
        super().__init__(**kwargs)

    def _build_vocabulary(self, vocab_file: str | None, characters: str | None) -> dict[str, int]:
        if vocab_file is not None:
            with open(vocab_file, encoding="utf-8") as f:
                return json.load(f)
        characters = DEFAULT_CHARACTERS if characters is None else characters
        if len(set(characters)) != len(characters) or any(len(ch) != 1 for ch in characters):
            raise ValueError(f"characters must be distinct single characters, got {characters!r}")
        return {token: i for i, token in enumerate([*SPECIAL_TOKENS.values(), *characters])}

    @classmethod
    def from_corpus(cls, text: str, **kwargs) -> "CharTokenizer":
        """A tokenizer covering exactly the characters of `text` (sorted), e.g. Tiny Shakespeare's 65."""
        if not text:
            raise ValueError("cannot build a character vocabulary from an empty corpus")
        return cls(characters="".join(sorted(set(text))), **kwargs)

    @property
    def vocab_size(self) -> int:
        return len(self.encoder)

    def get_vocab(self) -> dict[str, int]:
        return {**self.encoder, **self.added_tokens_encoder}

    def digit_layout(self) -> dict:
        """The token ids position coupling needs (ArithGPTConfig's digit_token_ids, pair_token_ids, equals_token_id,
        operator_token_ids)."""
        missing = [ch for ch in DIGITS + "=" if ch not in self.encoder]
        if missing:
            raise ValueError(f"this {type(self).__name__} has no token for {missing}: it cannot write arithmetic")
        return {"digit_token_ids": [self.encoder[d] for d in DIGITS], "pair_token_ids": None,
                "equals_token_id": self.encoder["="],
                "operator_token_ids": [self.encoder[op] for op in "+-*/" if op in self.encoder]}

    def _check_characters(self, text: str, start: int = 0) -> None:
        for position in range(start, len(text)):
            if text[position] not in self.encoder:
                raise ValueError(f"character {text[position]!r} at position {position} of {text[:40]!r} is not in "
                                 f"the vocabulary of this {type(self).__name__}")

    def _tokenize(self, text: str, **kwargs) -> list[str]:
        self._check_characters(text)
        return list(text)

    def _convert_token_to_id(self, token: str) -> int:
        return self.encoder[token]

    def _convert_id_to_token(self, index: int) -> str:
        if index not in self.decoder:  # never a silent drop, and the same error as the fast twin's
            raise ValueError(f"token id {index!r} is not in the vocabulary (ids 0-{len(self.decoder) - 1})")
        return self.decoder[index]

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return "".join(tokens)

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str]:
        path = os.path.join(save_directory, (filename_prefix + "-" if filename_prefix else "") + "vocab.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.encoder, f, ensure_ascii=False)
        return (path,)


__all__ = ["CharTokenizer", "DEFAULT_CHARACTERS"]
