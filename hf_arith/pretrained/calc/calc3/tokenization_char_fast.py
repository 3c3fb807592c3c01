"""CharTokenizerFast: the `tokenizers` twin of CharTokenizer, saved as `tokenizer.json`.

`tokenizer.json` is what tokenizers outside Python read (transformers.js, text-generation-inference, the
`tokenizers` library itself). The backend is a WordLevel model over the same vocabulary, a pre-tokenizer that
isolates every character and a Fuse decoder, so ids, offsets and decoding are CharTokenizer's (tested). An unknown
character raises the same ValueError, naming it and its position, instead of becoming `<unk>`.

(AlignedPairTokenizer has no twin: its prompt tokens pair digit i of a with digit i of b, counted from the right of
each operand, which needs reversing and interleaving two numbers of any length; `tokenizers`' normalizers and
pre-tokenizers rewrite and split text but cannot do that.)
"""

import json
import os
import re

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
from transformers import TokenizersBackend

from .tokenization_char import DEFAULT_CHARACTERS, SPECIAL_TOKENS, CharTokenizer


class CharTokenizerFast(TokenizersBackend):
    """One token per character, backed by `tokenizers`; the same ids as `CharTokenizer`.

    Args:
        vocab: token -> id (as CharTokenizer's `vocab.json`); default: CharTokenizer's arithmetic alphabet.
        characters: the characters to cover, in id order (instead of `vocab`).
        vocab_file: a CharTokenizer `vocab.json`.
        tokenizer_file: a `tokenizer.json` written by this class.
    """

    vocab_files_names = {"vocab_file": "vocab.json", "tokenizer_file": "tokenizer.json"}
    model_input_names = ["input_ids", "attention_mask"]
    slow_tokenizer_class = CharTokenizer

    def __init__(self, vocab: dict | None = None, characters: str | None = None, vocab_file: str | None = None,
                 tokenizer_file: str | None = None, **kwargs):
        if isinstance(vocab, str):  # AutoTokenizer passes a slow folder's vocab.json as a path
            vocab, vocab_file = None, vocab
        if tokenizer_file is not None:
            with open(tokenizer_file, encoding="utf-8") as f:
                vocab = json.load(f)["model"]["vocab"]
        elif vocab is None and vocab_file is not None:
            with open(vocab_file, encoding="utf-8") as f:
                vocab = json.load(f)
        elif vocab is None:
            vocab = CharTokenizer(characters=DEFAULT_CHARACTERS if characters is None else characters).encoder
        backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token=SPECIAL_TOKENS["unk_token"]))
        # Every character is its own pre-token ([\s\S]: newlines too); Fuse joins tokens back without spaces.
        backend.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
        backend.decoder = decoders.Fuse()
        for name, token in SPECIAL_TOKENS.items():
            kwargs.setdefault(name, token)
        kwargs.setdefault("padding_side", "left")
        super().__init__(tokenizer_object=backend, **kwargs)
        self._base_vocab = dict(vocab)
        specials = sorted(SPECIAL_TOKENS.values(), key=len, reverse=True)
        characters = "".join(token for token in vocab if len(token) == 1)
        # One regex pass finds a special token (allowed) or a character outside the vocabulary (an error).
        self._unknown = re.compile("(" + "|".join(map(re.escape, specials)) + f")|([^{re.escape(characters)}])")

    @classmethod
    def from_corpus(cls, text: str, **kwargs) -> "CharTokenizerFast":
        return cls(vocab=CharTokenizer.from_corpus(text).encoder, **kwargs)

    def _check_ids(self, ids) -> None:
        """The Rust decoder drops an unknown id silently: named instead, as the slow tokenizer does."""
        size = self._tokenizer.get_vocab_size(with_added_tokens=True)
        for index in [ids] if isinstance(ids, int) else ids:
            if not 0 <= int(index) < size:
                raise ValueError(f"token id {int(index)!r} is not in the vocabulary (ids 0-{size - 1})")

    def convert_ids_to_tokens(self, ids, skip_special_tokens: bool = False):
        self._check_ids(ids)
        return super().convert_ids_to_tokens(ids, skip_special_tokens)

    def _decode(self, token_ids, *args, **kwargs):
        self._check_ids(token_ids)
        return super()._decode(token_ids, *args, **kwargs)

    def _check_characters(self, text) -> None:
        texts = [text] if isinstance(text, str) else text
        for item in texts:
            for piece in [item] if isinstance(item, str) else item:  # a pre-tokenized list of words
                for match in self._unknown.finditer(piece):
                    if match.group(2) is not None:
                        raise ValueError(f"character {match.group(2)!r} at position {match.start()} of "
                                         f"{piece[:40]!r} is not in the vocabulary of this {type(self).__name__}")

    def _encode_plus(self, text, text_pair=None, *args, **kwargs):
        self._check_characters(text)
        if text_pair is not None:
            self._check_characters(text_pair)
        return super()._encode_plus(text, text_pair, *args, **kwargs)

    def digit_layout(self) -> dict:
        return CharTokenizer.digit_layout(self)

    @property
    def encoder(self) -> dict[str, int]:
        """The base vocabulary (token -> id), as CharTokenizer.encoder."""
        return self._base_vocab

    def save_pretrained(self, save_directory, *args, **kwargs):
        """tokenizer.json (for tokenizers outside Python) and CharTokenizer's vocab.json (so the Python class reads
        the same folder)."""
        files = super().save_pretrained(save_directory, *args, **kwargs)
        path = os.path.join(save_directory, "vocab.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self._base_vocab, f, ensure_ascii=False)
        return (*files, path)


__all__ = ["CharTokenizerFast"]
