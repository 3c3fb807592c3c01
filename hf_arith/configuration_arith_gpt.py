"""Configuration of ArithGPT, the small nanoGPT-style decoder that hf_arith trains from scratch."""

from transformers import PretrainedConfig

# Each scheme is one branch in `ArithGPTModel`; a new scheme (Abacus, position coupling, ...) is one more name here
# plus one more branch there.
POSITION_EMBEDDINGS = ("learned", "rope", "none")


class ArithGPTConfig(PretrainedConfig):
    r"""
    The single home of every ArithGPT hyperparameter.

    Args:
        vocab_size: number of token ids the embedding and the head cover.
        n_positions: longest sequence (prompt + completion) the model is built for; with learned positions it is the
            size of the position table, with RoPE or no positions it is a soft limit used by tooling.
        n_embd: width of the residual stream.
        n_layer: number of transformer blocks; 0 gives the bigram baseline (embedding -> LayerNorm -> head).
        n_head: attention heads per block; must divide `n_embd`.
        dropout: dropout on embeddings, attention weights and residual branches.
        bias: whether linear layers and LayerNorms carry a bias (nanoGPT's switch).
        position_embedding: one of "learned" (GPT-2 table), "rope" (rotary, applied to queries and keys) or
            "none" (no explicit positions: the causal mask alone orders tokens).
        rope_theta: base of the rotary frequencies.
        initializer_range: standard deviation of the normal init; residual projections use
            `initializer_range / sqrt(2 * n_layer)` (GPT-2's scaled init).
        layer_norm_epsilon: epsilon of every LayerNorm.
        tie_word_embeddings: share the token embedding with the output head.
    """

    model_type = "arith_gpt"
    keys_to_ignore_at_inference = ["past_key_values"]
    attribute_map = {
        "hidden_size": "n_embd",
        "num_hidden_layers": "n_layer",
        "num_attention_heads": "n_head",
        "max_position_embeddings": "n_positions",
    }

    vocab_size: int = 32
    n_positions: int = 64
    n_embd: int = 128
    n_layer: int = 4
    n_head: int = 4
    dropout: float = 0.0
    bias: bool = True
    position_embedding: str = "learned"
    rope_theta: float = 10000.0
    initializer_range: float = 0.02
    layer_norm_epsilon: float = 1e-5
    tie_word_embeddings: bool = True
    use_cache: bool = True
    pad_token_id: int | None = None
    bos_token_id: int | None = None
    eos_token_id: int | None = None

    def __post_init__(self, **kwargs):
        self._validate_hyperparameters()
        super().__post_init__(**kwargs)

    def _validate_hyperparameters(self):
        # PretrainedConfig does not check annotated types, and a wrong type here would surface much later as an
        # unreadable shape error inside torch, so every field is checked where it is set.
        for name in ("vocab_size", "n_positions", "n_embd", "n_head"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if isinstance(self.n_layer, bool) or not isinstance(self.n_layer, int) or self.n_layer < 0:
            raise ValueError(f"n_layer must be an int >= 0 (0 is the bigram baseline), got {self.n_layer!r}")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be a float in [0, 1), got {self.dropout!r}")
        for name in ("bias", "tie_word_embeddings"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")
        if self.position_embedding not in POSITION_EMBEDDINGS:
            raise ValueError(
                f"position_embedding must be one of {POSITION_EMBEDDINGS}, got {self.position_embedding!r}"
            )
        if self.n_embd % self.n_head != 0:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        head_dim = self.n_embd // self.n_head
        if self.position_embedding == "rope" and head_dim % 2 != 0:
            raise ValueError(
                f"RoPE rotates pairs of channels, so the head dim must be even; got n_embd={self.n_embd}, "
                f"n_head={self.n_head} (head dim {head_dim})"
            )
        for name in ("rope_theta", "initializer_range", "layer_norm_epsilon"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        for name in ("pad_token_id", "bos_token_id", "eos_token_id"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or not 0 <= value < self.vocab_size):
                raise ValueError(f"{name} must be None or an id in [0, {self.vocab_size}), got {value!r}")

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head


__all__ = ["ArithGPTConfig", "POSITION_EMBEDDINGS"]
