import pytest

from hf_arith import ArithGPTConfig


def test_defaults_round_trip(tmp_path):
    config = ArithGPTConfig(n_embd=64, n_head=4, position_embedding="rope")
    config.save_pretrained(tmp_path)
    loaded = ArithGPTConfig.from_pretrained(tmp_path)
    assert loaded.to_dict() == config.to_dict()
    assert loaded.hidden_size == 64 and loaded.num_hidden_layers == config.n_layer  # HF attribute names map over
    assert loaded.tie_word_embeddings is True


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        (dict(n_embd=65, n_head=4), "n_embd (65) must be divisible by n_head (4)"),
        (dict(n_embd=12, n_head=4, position_embedding="rope"), "head dim 3"),
        (dict(position_embedding="abacus"), "'abacus'"),
        (dict(n_layer=-1), "-1"),
        (dict(n_embd=0), "n_embd must be a positive int, got 0"),
        (dict(vocab_size="32"), "vocab_size must be a positive int, got '32'"),
        (dict(n_head=2.0), "n_head must be a positive int, got 2.0"),
        (dict(dropout=1.5), "1.5"),
        (dict(bias="yes"), "'yes'"),
        (dict(rope_theta=-1.0), "-1.0"),
        (dict(eos_token_id=99, vocab_size=32), "99"),
    ],
)
def test_bad_values_raise_naming_the_value(overrides, fragment):
    with pytest.raises(ValueError) as excinfo:
        ArithGPTConfig(**overrides)
    assert fragment in str(excinfo.value)


def test_zero_layers_is_the_bigram_baseline():
    assert ArithGPTConfig(n_layer=0).n_layer == 0
