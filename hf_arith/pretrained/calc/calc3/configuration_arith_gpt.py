"""Configuration of ArithGPT, the small nanoGPT-style decoder that hf_arith trains from scratch."""

from transformers import PretrainedConfig

# learned: a table added to the token embeddings (`wpe`); rope: rotary attention; none: neither; coupled: ids from the
# digits' significance (`ArithGPTModel.coupled_position_ids`), through a table or rotary attention (COUPLED_EMBEDDINGS).
POSITION_EMBEDDINGS = ("learned", "rope", "none", "coupled")
# What carries the coupled position ids into the network: a learned table or rotary attention.
COUPLED_EMBEDDINGS = ("learned", "rope")
# Which ids the tokens that are not digits get under position coupling (see `ArithGPTModel.coupled_position_ids`).
COUPLED_MARKERS = ("none", "start", "sentinel")


# The hf_arith release this code is, and the model features it implements beyond nanoGPT's: a config written by a
# later release that uses more lists them in `required_features`, and this code refuses it rather than ignore them.
CODE_VERSION = "0.6.0"
FEATURES = {"coupled_markers": "none", "coupled_attention_window": None, "coupled_max_offset": 0}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class ArithGPTConfig(PretrainedConfig):
    r"""
    The single home of every ArithGPT hyperparameter.

    Args:
        vocab_size: number of token ids the embedding and the head cover.
        n_positions: size of the learned position table ("learned", or "coupled" with `coupled_embedding="learned"`:
            then the largest position id plus one); with RoPE or no positions a soft limit used by tooling.
        n_embd: width of the residual stream.
        n_layer: number of transformer blocks; 0 gives the bigram baseline (embedding -> LayerNorm -> head).
        n_head: attention heads per block; must divide `n_embd`.
        dropout: dropout on embeddings, attention weights and residual branches.
        bias: whether linear layers and LayerNorms carry a bias (nanoGPT's switch).
        position_embedding: "learned" (GPT-2 table), "rope" (rotary, on queries and keys), "none" (the causal mask
            alone orders tokens) or "coupled" (position coupling, Cho et al. 2024: digits of equal significance in
            the operands and the answer share one position id, see `ArithGPTModel.coupled_position_ids`).
        rope_parameters: transformers' RoPE settings, e.g. `{"rope_type": "default", "rope_theta": 10000.0}` or a
            scaled type (`"linear"`, `"dynamic"`, `"yarn"`, ...) with its `factor`; used by "rope" and by "coupled"
            with `coupled_embedding="rope"`. `rope_theta=` and the older `rope_scaling=` are accepted and moved here.
            None on a model without RoPE.
        coupled_embedding: for "coupled": "learned" (a table indexed by the coupled ids) or "rope".
        coupled_max_offset: for "coupled": during training every example's digit ids are shifted by one random
            offset in [0, coupled_max_offset], so that position ids beyond the training lengths are trained too;
            evaluation (model.eval()) uses offset 0.
        coupled_markers: for "coupled": the ids of the tokens that are not digits. "none": all 0. "start": the first
            "=" gets `offset`, one below the units column (Cho et al. 2024), so the token that writes the answer's
            units digit looks one column up like every other answer digit. "sentinel": as "start", and the operator
            token gets `2 + offset + n_columns` (n_columns: the longer operand's digits), one past the last digit of
            an n_columns + 1 digit answer (`pad_to_longer` data): the last digit then finds the end of the answer by
            the same one-column-up lookup that finds every digit, a token that is there instead of one that is not.
        coupled_attention_window: for "coupled": None (attention sees every earlier token), or w >= 0: a token
            attends only to earlier tokens whose coupled id is within w of its own (and to itself), so an answer
            digit sees the same columns at every operand length (a hard, id-local attention mask, in the spirit of
            Attention Bias Calibration, Duan & Shi 2023).
        operator_token_ids: for "coupled" with `coupled_markers="sentinel"`: ids of the operator tokens "+-*/".
        digit_token_ids: for "coupled": ids of the single-digit tokens "0".."9".
        pair_token_ids: for "coupled": ids of AlignedPairTokenizer's digit-pair tokens (columns, least significant
            first), or None for a character tokenizer.
        equals_token_id: for "coupled": id of "=", where the (reversed) answer starts.
        initializer_range: standard deviation of the normal init; residual projections use
            `initializer_range / sqrt(2 * n_layer)` (GPT-2's scaled init).
        layer_norm_epsilon: epsilon of every LayerNorm.
        tie_word_embeddings: share the token embedding with the output head.
        required_features: the features beyond nanoGPT's that this config uses (written, not set by hand): code
            that does not implement one of them refuses the config instead of computing something else.
        hf_arith_version: the hf_arith release whose code wrote the config.
    """

    model_type = "arith_gpt"
    keys_to_ignore_at_inference = ["cache", "past_key_values"]  # the KV cache, under its 5.24+ and older names
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
    rope_parameters: dict | None = None
    coupled_embedding: str = "learned"
    coupled_max_offset: int = 0
    coupled_markers: str = "none"
    coupled_attention_window: int | None = None
    operator_token_ids: list[int] | None = None
    digit_token_ids: list[int] | None = None
    pair_token_ids: list[int] | None = None
    equals_token_id: int | None = None
    initializer_range: float = 0.02
    layer_norm_epsilon: float = 1e-5
    tie_word_embeddings: bool = True
    use_cache: bool = True
    pad_token_id: int | None = None
    bos_token_id: int | None = None
    eos_token_id: int | None = None
    required_features: list[str] | None = None
    hf_arith_version: str | None = None

    def __post_init__(self, **kwargs):
        if self.rope_parameters is not None and not isinstance(self.rope_parameters, dict):
            # checked before transformers reads it (it would fail with an AttributeError)
            raise ValueError(f"rope_parameters must be a dict or None, got {self.rope_parameters!r}")
        super().__post_init__(**kwargs)  # moves rope_theta / rope_scaling into rope_parameters
        unknown = sorted(set(self.required_features or []) - set(FEATURES))
        if unknown:
            raise ValueError(f"this config needs {', '.join(unknown)}, which hf_arith {self.hf_arith_version or '?'} "
                             f"implements and this code (hf_arith {CODE_VERSION}) does not: refresh the folder's code "
                             f"with that release (hf-arith refresh)")
        self.required_features = [name for name, off in FEATURES.items() if getattr(self, name) != off] or None
        self.hf_arith_version = CODE_VERSION
        self._validate_hyperparameters()

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    @property
    def uses_rope(self) -> bool:
        return self.position_embedding == "rope" or (
            self.position_embedding == "coupled" and self.coupled_embedding == "rope")

    @property
    def uses_position_table(self) -> bool:
        return self.position_embedding == "learned" or (
            self.position_embedding == "coupled" and self.coupled_embedding == "learned")

    def _validate_hyperparameters(self):
        # PretrainedConfig does not check annotated types, and a wrong type here would surface much later as an
        # unreadable shape error inside torch, so every field is checked where it is set.
        for name in ("vocab_size", "n_positions", "n_embd", "n_head"):
            value = getattr(self, name)
            if not _is_int(value) or value <= 0:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not _is_int(self.n_layer) or self.n_layer < 0:
            raise ValueError(f"n_layer must be an int >= 0 (0 is the bigram baseline), got {self.n_layer!r}")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be a float in [0, 1), got {self.dropout!r}")
        for name in ("bias", "tie_word_embeddings"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")
        if self.position_embedding not in POSITION_EMBEDDINGS:
            raise ValueError(f"position_embedding must be one of {POSITION_EMBEDDINGS}, "
                             f"got {self.position_embedding!r}")
        if self.n_embd % self.n_head != 0:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        for name in ("initializer_range", "layer_norm_epsilon"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
        for name in ("pad_token_id", "bos_token_id", "eos_token_id"):
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or not 0 <= value < self.vocab_size):
                raise ValueError(f"{name} must be None or an id in [0, {self.vocab_size}), got {value!r}")
        self._validate_rope()
        if self.position_embedding == "coupled":
            self._validate_coupled()

    def _validate_rope(self):
        rope_type = (self.rope_parameters or {}).get("rope_type", "default")
        if not self.uses_rope:
            if rope_type != "default":
                # A scaled RoPE on a model without RoPE would be silently ignored.
                raise ValueError(f"rope_parameters has rope_type={rope_type!r}, but position_embedding="
                                 f"{self.position_embedding!r} does not use RoPE")
            # No RoPE, no RoPE parameters: transformers validates them on every save, with rules (an even head dim)
            # that a model without rotary attention need not meet.
            self.rope_parameters = None
            return
        theta = self.rope_parameters.get("rope_theta")
        if isinstance(theta, bool) or not isinstance(theta, (int, float)) or theta <= 0:
            raise ValueError(f"rope_theta must be a positive number, got {theta!r}")
        if self.head_dim % 2 != 0:
            raise ValueError(f"RoPE rotates pairs of channels, so the head dim must be even; got n_embd={self.n_embd}, "
                             f"n_head={self.n_head} (head dim {self.head_dim})")
        self.validate_rope()  # transformers' own checks of each rope_type's parameters

    def _validate_coupled(self):
        if self.coupled_embedding not in COUPLED_EMBEDDINGS:
            raise ValueError(f"coupled_embedding must be one of {COUPLED_EMBEDDINGS}, got {self.coupled_embedding!r}")
        if not _is_int(self.coupled_max_offset) or self.coupled_max_offset < 0:
            raise ValueError(f"coupled_max_offset must be an int >= 0, got {self.coupled_max_offset!r}")
        if self.uses_position_table and self.coupled_max_offset + 2 > self.n_positions:
            raise ValueError(f"coupled_max_offset={self.coupled_max_offset} leaves no room in the position table "
                             f"(n_positions={self.n_positions})")
        if self.coupled_markers not in COUPLED_MARKERS:
            raise ValueError(f"coupled_markers must be one of {COUPLED_MARKERS}, got {self.coupled_markers!r}")
        if self.coupled_markers == "sentinel" and not self.operator_token_ids:
            raise ValueError("coupled_markers='sentinel' needs operator_token_ids (the ids of '+-*/'), got "
                             f"{self.operator_token_ids!r}")
        window = self.coupled_attention_window
        if window is not None and (not _is_int(window) or window < 0):
            raise ValueError(f"coupled_attention_window must be None or an int >= 0, got {window!r}")
        ids = list(self.digit_token_ids or []) + list(self.pair_token_ids or []) + [self.equals_token_id]
        ids += list(self.operator_token_ids or [])
        if len(self.digit_token_ids or []) != 10 or self.equals_token_id is None:
            raise ValueError("position_embedding='coupled' needs digit_token_ids (the 10 digit tokens) and "
                             f"equals_token_id; got {self.digit_token_ids!r} and {self.equals_token_id!r}")
        bad = [i for i in ids if not _is_int(i) or not 0 <= i < self.vocab_size]
        if bad or len(set(ids)) != len(ids):
            raise ValueError(f"coupled token ids must be distinct ids in [0, {self.vocab_size}), got {ids}")


__all__ = ["ArithGPTConfig", "CODE_VERSION", "COUPLED_EMBEDDINGS", "COUPLED_MARKERS", "FEATURES", "POSITION_EMBEDDINGS"]
