"""Token ids in batches: encoding without the tokenizer's generic `__call__` overhead, and left padding.

Shared by the training collator, generation-based evaluation and the benchmark, so that every path pads the way
batched generation needs (on the left) and encodes exactly as the tokenizer does.
"""

import torch

from .tokenization_aligned import AlignedPairTokenizer
from .tokenization_char import CharTokenizer
from .tokenization_char_fast import CharTokenizerFast


def encode(tokenizer, text: str) -> list[int]:
    """Token ids of `text` without special tokens.

    For hf_arith's own tokenizers this skips the generic `__call__` machinery: a dict lookup per character. Measured
    on 100,000 traces like '123+456=9750' (2-core CPU): 1.3 us per string, against 15.2 us for CharTokenizer's
    __call__, 15.7 us for CharTokenizerFast's and 5.3-7.8 us for the `tokenizers` backend's own encode_batch; the
    ids are the same (tested). Unknown characters raise the tokenizers' own ValueError.
    """
    if type(tokenizer) in (CharTokenizer, AlignedPairTokenizer):
        vocab = tokenizer.encoder
        return [vocab[token] for token in tokenizer._tokenize(text)]
    if type(tokenizer) is CharTokenizerFast:
        tokenizer._check_characters(text)
        vocab = tokenizer.encoder
        return [vocab[ch] for ch in text]
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def left_pad(rows: list[list[int]], pad_id: int, fill: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T) ids padded on the left with `pad_id` (or `fill`, e.g. -100 for labels) and the matching 0/1 mask."""
    width = max(map(len, rows))
    ids = torch.full((len(rows), width), pad_id if fill is None else fill, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        if row:
            ids[i, width - len(row):] = torch.tensor(row)
            mask[i, width - len(row):] = 1
    return ids, mask


__all__ = ["encode", "left_pad"]
