import re

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
        (dict(position_embedding="rope", rope_theta=-1.0), "-1.0"),
        (dict(n_layer=-1), "-1"),
        (dict(n_embd=0), "n_embd must be a positive int, got 0"),
        (dict(vocab_size="32"), "vocab_size must be a positive int, got '32'"),
        (dict(n_head=2.0), "n_head must be a positive int, got 2.0"),
        (dict(dropout=1.5), "1.5"),
        (dict(bias="yes"), "'yes'"),
        (dict(eos_token_id=99, vocab_size=32), "99"),
    ],
)
def test_bad_values_raise_naming_the_value(overrides, fragment):
    with pytest.raises(ValueError) as excinfo:
        ArithGPTConfig(**overrides)
    assert fragment in str(excinfo.value)


def test_zero_layers_is_the_bigram_baseline():
    from hf_arith import ArithGPTForCausalLM

    model = ArithGPTForCausalLM(ArithGPTConfig(vocab_size=20, n_layer=0, n_embd=16, n_head=2,
                                               position_embedding="none", tie_word_embeddings=False))
    assert len(model.transformer.h) == 0
    # token embedding, final LayerNorm (weight and bias) and the untied head: nothing else
    assert sum(p.numel() for p in model.parameters()) == 20 * 16 + 2 * 16 + 16 * 20


def test_rope_theta_and_rope_scaling_are_read_into_rope_parameters(tmp_path):
    config = ArithGPTConfig(n_embd=32, n_head=2, position_embedding="rope", rope_theta=500.0)
    assert config.rope_parameters == {"rope_type": "default", "rope_theta": 500.0}
    scaled = ArithGPTConfig(n_embd=32, n_head=2, position_embedding="rope",
                            rope_scaling={"rope_type": "linear", "factor": 2.0})
    assert scaled.rope_parameters["rope_type"] == "linear" and scaled.rope_parameters["factor"] == 2.0
    scaled.save_pretrained(tmp_path)
    assert ArithGPTConfig.from_pretrained(tmp_path).rope_parameters == scaled.rope_parameters
    with pytest.raises(ValueError, match="does not use RoPE"):  # never accepted and silently ignored
        ArithGPTConfig(rope_scaling={"rope_type": "linear", "factor": 2.0})


@pytest.mark.parametrize("overrides, fragment", [
    (dict(position_embedding="coupled"), "needs digit_token_ids"),
    (dict(position_embedding="coupled", digit_token_ids=list(range(4, 14)), equals_token_id=4), "distinct"),
    (dict(position_embedding="coupled", digit_token_ids=list(range(4, 14)), equals_token_id=14,
          coupled_max_offset=63), "leaves no room"),
    (dict(position_embedding="coupled", digit_token_ids=list(range(4, 14)), equals_token_id=14,
          coupled_embedding="abacus"), "'abacus'"),
])
def test_bad_coupled_settings(overrides, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        ArithGPTConfig(vocab_size=32, **overrides)
