"""CharTokenizerFast, the `tokenizers` twin: the same ids, offsets and decoding as CharTokenizer, on every trace
format and on the Shakespeare corpus; the same error on an unknown character; saved as tokenizer.json."""

import json

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer
from transformers import AutoTokenizer

import hf_arith  # noqa: F401  (registers the Auto classes)
from hf_arith import CharTokenizer
from hf_arith.data.corpus import read_corpus
from hf_arith.data.traces import FORMATS, check_format, make_trace
from hf_arith.tokenization_char_fast import CharTokenizerFast

SLOW, FAST = CharTokenizer(), CharTokenizerFast()


def same_encoding(slow, fast, texts):
    slow_ids = [slow(t)["input_ids"] for t in texts]
    fast_batch = fast(texts, return_offsets_mapping=True)
    assert fast_batch["input_ids"] == slow_ids
    # a character tokenizer's offsets are (i, i + 1): CharTokenizer has none to return, so they are checked directly
    assert [list(map(tuple, o)) for o in fast_batch["offset_mapping"]] == [[(i, i + 1) for i in range(len(t))]
                                                                           for t in texts]
    assert fast.batch_decode(fast_batch["input_ids"]) == slow.batch_decode(slow_ids) == texts


@given(st.integers(0, 99_999), st.sampled_from("+-*/"), st.integers(1, 99_999), st.sampled_from(FORMATS),
       st.booleans())
@settings(max_examples=300)
def test_identical_on_every_trace_format(a, op, b, fmt, padded):
    try:
        check_format(fmt, op)
    except ValueError:
        assume(False)
    prompt, completion = make_trace(a, op, b, fmt, pad_width=5 if padded else None)
    same_encoding(SLOW, FAST, [prompt, prompt + completion])


def test_identical_on_the_shakespeare_corpus():
    corpus = read_corpus()
    slow, fast = CharTokenizer.from_corpus(corpus), CharTokenizerFast.from_corpus(corpus)
    assert fast.get_vocab() == slow.get_vocab() and len(slow.get_vocab()) == 4 + 65
    lines = corpus.splitlines(keepends=True)[:2000]  # newlines, spaces, punctuation and capitals included
    same_encoding(slow, fast, lines)
    assert fast(corpus[:100_000])["input_ids"] == slow(corpus[:100_000])["input_ids"]


@pytest.mark.parametrize("tokenizer", [SLOW, FAST])
def test_the_same_error_for_an_unknown_character(tokenizer):
    with pytest.raises(ValueError, match=r"character 'x' at position 6 of '12\+3=1x' is not in the vocabulary"):
        tokenizer("12+3=1x")
    with pytest.raises(ValueError, match="character '%'"):
        tokenizer(["1+1=", "7%2="])


def test_special_tokens_padding_and_ids_match():
    assert FAST("12<eos>")["input_ids"] == SLOW("12<eos>")["input_ids"]  # a special token is one token, not five
    assert FAST.padding_side == "left"
    for name in ("pad_token_id", "bos_token_id", "eos_token_id", "unk_token_id"):
        assert getattr(FAST, name) == getattr(SLOW, name)
    batch = FAST(["1+2=", "123+456="], padding=True)
    assert batch["input_ids"][0][:4] == [SLOW.pad_token_id] * 4


def test_saved_as_tokenizer_json_and_loaded_back(tmp_path):
    FAST.save_pretrained(tmp_path)
    backend = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))  # what transformers.js / TGI read
    assert backend.encode("12+34=").ids == SLOW("12+34=")["input_ids"]
    assert json.loads((tmp_path / "tokenizer.json").read_text())["model"]["type"] == "WordLevel"
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert type(loaded) is CharTokenizerFast and loaded("7*8=56")["input_ids"] == SLOW("7*8=56")["input_ids"]
