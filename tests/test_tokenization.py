import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from transformers import AutoTokenizer

import hf_arith  # noqa: F401  (registers the Auto classes)
from hf_arith import AlignedPairTokenizer, CharTokenizer
from hf_arith.data.traces import FORMATS, OPERATIONS, TRACE_CHARACTERS, check_format, make_trace

numerals = st.text(alphabet="0123456789", min_size=1, max_size=6)  # leading zeros included on purpose
operators = st.sampled_from(OPERATIONS)


def test_default_vocabulary_covers_every_trace_character():
    vocab = CharTokenizer().get_vocab()
    assert set(TRACE_CHARACTERS) <= set(vocab)
    assert set(TRACE_CHARACTERS) <= set(AlignedPairTokenizer().get_vocab())


def test_char_ids_are_one_per_character():
    tok = CharTokenizer()
    ids = tok("12+3=")["input_ids"]
    assert ids == [tok.convert_tokens_to_ids(ch) for ch in "12+3="]
    assert len(ids) == 5 and tok.unk_token_id not in ids


def test_left_padding_by_default():
    tok = CharTokenizer()
    batch = tok(["1+2=", "123+456="], padding=True)
    assert batch["input_ids"][0][:4] == [tok.pad_token_id] * 4
    assert batch["attention_mask"][0] == [0, 0, 0, 0, 1, 1, 1, 1]


@pytest.mark.parametrize("tokenizer", [CharTokenizer(), AlignedPairTokenizer(max_digits=3)])
def test_unknown_character_raises_with_character_and_position(tokenizer):
    with pytest.raises(ValueError, match=r"character 'x' at position 6"):
        tokenizer("12+3=1x")


@given(st.text(alphabet="0123456789+-*/=[];r ", max_size=30))
def test_char_round_trip(text):
    tok = CharTokenizer()
    assert tok.decode(tok(text)["input_ids"]) == text


@given(st.text(min_size=1, max_size=200))
@settings(max_examples=50)
def test_corpus_tokenizer_round_trips_its_corpus(corpus):
    tok = CharTokenizer.from_corpus(corpus)
    assert tok.decode(tok(corpus)["input_ids"]) == corpus
    assert tok.vocab_size == 4 + len(set(corpus))


@given(numerals, operators, numerals, st.text(alphabet="0123456789-r=", max_size=12))
def test_aligned_round_trip(a, op, b, completion):
    tok = AlignedPairTokenizer(max_digits=6)
    text = f"{a}{op}{b}={completion}"
    assert tok.decode(tok(text)["input_ids"]) == text


@given(st.integers(0, 999), operators, st.integers(1, 999), st.sampled_from(FORMATS), st.booleans())
def test_aligned_round_trips_every_generated_trace(a, op, b, fmt, padded):
    try:
        check_format(fmt, op)
    except ValueError:
        assume(False)  # sum_cot and reverse_sum_cot exist for "*" only
    prompt, completion = make_trace(a, op, b, fmt, pad_width=3 if padded else None)
    tok = AlignedPairTokenizer(max_digits=3)
    assert tok.decode(tok(prompt + completion)["input_ids"]) == prompt + completion


def test_aligned_layout_is_ordered_pairs_least_significant_first():
    tok = AlignedPairTokenizer(max_digits=4)
    # 123+45: columns (3,5) (2,4) (1,-) (-,-); b's digit stays second, so 45+123 differs
    assert tok.tokenize("123+45=168") == ["+", "3|5", "2|4", "1|_", "_|_", "=", "1", "6", "8"]
    assert tok.tokenize("45+123=")[1:4] == ["5|3", "4|2", "_|1"]
    # leading zeros are kept, not confused with blanks
    assert tok.tokenize("007+0=")[1:5] == ["7|0", "0|_", "0|_", "_|_"]


def test_seed_003_alignment_with_operand_order_kept():
    # seed 003's columns for 123456789+145 least significant first were (9,5) (8,4) (7,1) (6,0) ...
    tok = AlignedPairTokenizer(max_digits=9)
    columns = tok.tokenize("123456789+145=")[1:-1]
    assert columns[:3] == ["9|5", "8|4", "7|1"]
    assert columns[3:] == [f"{d}|_" for d in "654321"]


def test_operand_longer_than_max_digits():
    with pytest.raises(ValueError, match=r"operand b=12345 has 5 digits, more than max_digits=4"):
        AlignedPairTokenizer(max_digits=4)("1+12345=")


@pytest.mark.parametrize("bad", [0, -3, "4", True])
def test_bad_max_digits(bad):
    with pytest.raises(ValueError, match="max_digits"):
        AlignedPairTokenizer(max_digits=bad)


@pytest.mark.parametrize("tokenizer", [CharTokenizer(), CharTokenizer.from_corpus("to be or not\n"),
                                       AlignedPairTokenizer(max_digits=5)])
def test_save_and_auto_load(tokenizer, tmp_path):
    tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    # a CharTokenizer folder loads as its `tokenizers` twin by default (the same ids: test_tokenization_fast.py)
    assert type(loaded).__name__ == type(tokenizer).__name__ + ("Fast" if type(tokenizer) is CharTokenizer else "")
    assert loaded.get_vocab() == tokenizer.get_vocab()
    assert loaded.padding_side == "left"
    assert getattr(loaded, "max_digits", None) == getattr(tokenizer, "max_digits", None)
    text = "to be" if tokenizer.vocab_size < 30 and "t" in tokenizer.get_vocab() else "12+345=357"
    assert loaded(text)["input_ids"] == tokenizer(text)["input_ids"]


def test_aligned_tokenizer_is_a_char_tokenizer_with_pair_columns():
    # One vocabulary machinery (CharTokenizer) serves both: same ids for every character, pairs after them.
    char, aligned = CharTokenizer(), AlignedPairTokenizer(max_digits=2)
    assert isinstance(aligned, CharTokenizer)
    assert all(aligned.get_vocab()[t] == i for t, i in char.get_vocab().items())
    assert aligned.vocab_size == char.vocab_size + 11 * 11


def test_unfixed_columns_follow_the_longer_operand():
    tok = AlignedPairTokenizer(max_digits=256, fixed_columns=False)
    assert tok.tokenize("123+45=") == ["+", "3|5", "2|4", "1|_", "="]
    long_a, long_b = "9" * 200, "1" * 150
    assert len(tok(f"{long_a}+{long_b}=")["input_ids"]) == 1 + 200 + 1
    assert tok.decode(tok(f"{long_a}+{long_b}=0")["input_ids"]) == f"{long_a}+{long_b}=0"


@pytest.mark.parametrize("tokenizer", [CharTokenizer(), AlignedPairTokenizer(max_digits=3)])
def test_digit_layout_names_the_coupled_token_ids(tokenizer):
    layout = tokenizer.digit_layout()
    assert tokenizer.convert_ids_to_tokens(layout["digit_token_ids"]) == list("0123456789")
    assert tokenizer.convert_ids_to_tokens(layout["equals_token_id"]) == "="
    pairs = layout["pair_token_ids"]
    if not isinstance(tokenizer, AlignedPairTokenizer):
        assert pairs is None  # characters only: operand digits are ordinary digit tokens
    else:
        assert set(tokenizer.convert_ids_to_tokens(pairs)) == {f"{x}|{y}" for x in "0123456789_" for y in "0123456789_"}
    with pytest.raises(ValueError, match="no token for"):
        CharTokenizer.from_corpus("abc").digit_layout()
