"""ArithGPT: nanoGPT (pre-LayerNorm blocks, fused qkv, GELU MLP x4, tied embeddings) as a transformers model.

Reads top to bottom like nanoGPT's model.py: rotary embedding, attention, MLP, block, the bare model, the LM head.
The plumbing is transformers' own, as in its Llama: `create_causal_mask` (padding, packed sequences, static caches,
4D masks), the attention-function registry (eager / SDPA), output capturing (`output_hidden_states`,
`output_attentions`, `return_dict`) and gradient-checkpointing layers. Only torch, transformers and the sibling
configuration file are imported, so `save_pretrained` can ship this file for `trust_remote_code` users.
"""

import math
import warnings

import torch
from torch import nn
from transformers import GenerationMixin, PreTrainedModel
from transformers.cache_utils import Cache, DynamicCache
from transformers.masking_utils import create_causal_mask
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_outputs import BaseModelOutputWithPast, CausalLMOutputWithPast
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS, dynamic_rope_update
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
from transformers.utils.generic import can_return_tuple, merge_with_config_defaults
from transformers.utils.output_capturing import capture_outputs

from .configuration_arith_gpt import ArithGPTConfig

# transformers 5.24 renamed the KV cache from `past_key_values` to `cache`: in what generate() passes to forward, in
# the output classes it reads the cache back from, and in gradient checkpointing. This file ships inside every model
# folder and runs on whichever version the user has, so it takes the cache under either name and returns it in the
# field the installed output class declares (generate() reads only that one).
CACHE_FIELD = "cache" if "cache" in BaseModelOutputWithPast.__dataclass_fields__ else "past_key_values"


def _pop_cache(cache: Cache | None, kwargs: dict) -> Cache | None:
    """The cache passed as `cache` (transformers >= 5.24) or as `past_key_values` (up to 5.23's generate())."""
    legacy = kwargs.pop("past_key_values", None)
    if legacy is not None and CACHE_FIELD == "cache":
        # Where the installed transformers says `cache`, the old name is deprecated, as in its own models (up to 5.23
        # it is the only name, and its generate() passes it at every step: no warning there).
        warnings.warn("`past_key_values` is deprecated since transformers 5.24: pass the KV cache as `cache`",
                      FutureWarning, stacklevel=3)
    return cache if cache is not None else legacy


class ArithGPTRotaryEmbedding(nn.Module):
    """RoPE cos/sin, computed once per forward in the model and shared by every layer (transformers' RoPE types)."""

    def __init__(self, config: ArithGPTConfig):
        super().__init__()
        self.config = config
        self.rope_type = config.rope_parameters["rope_type"]
        rope_init_fn = (self.compute_default_rope_parameters if self.rope_type == "default"
                        else ROPE_INIT_FUNCTIONS[self.rope_type])
        inv_freq, self.attention_scaling = rope_init_fn(config)
        # What dynamic_rope_update reads: the "dynamic" type grows the frequencies past the trained length.
        self.max_seq_len_cached = self.original_max_seq_len = config.n_positions
        # Non-persistent: derived from the config, so not stored in the weights file (rebuilt by _init_weights).
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self.register_buffer("original_inv_freq", inv_freq.clone(), persistent=False)

    @staticmethod
    def compute_default_rope_parameters(config: ArithGPTConfig, device=None, **kwargs) -> tuple[torch.Tensor, float]:
        dim = config.head_dim
        exponents = torch.arange(0, dim, 2, dtype=torch.int64).to(device=device, dtype=torch.float) / dim
        return 1.0 / (config.rope_parameters["rope_theta"] ** exponents), 1.0

    @torch.no_grad()
    @dynamic_rope_update  # only acts for the "dynamic" and "longrope" types
    def forward(self, x: torch.Tensor, position_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        freqs = position_ids[..., None].float() * self.inv_freq.to(x.device)  # (B, T, hd/2)
        emb = torch.cat((freqs, freqs), dim=-1)  # (B, T, hd)
        return (emb.cos() * self.attention_scaling).to(x.dtype), (emb.sin() * self.attention_scaling).to(x.dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary(q: torch.Tensor, k: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor):
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)  # (B, T, hd) -> (B, 1, T, hd): broadcast over heads
    return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin


def eager_attention_forward(module: nn.Module, query, key, value, attention_mask, scaling: float,
                            dropout: float = 0.0, **kwargs):
    """Attention written out, the reference SDPA must match; returns the weights for `output_attentions`."""
    weights = torch.matmul(query, key.transpose(2, 3)) * scaling  # (B, nh, T, S)
    if attention_mask is not None:
        if attention_mask.dtype == torch.bool:
            weights = weights.masked_fill(~attention_mask, torch.finfo(weights.dtype).min)
        else:
            weights = weights + attention_mask
    weights = nn.functional.softmax(weights, dim=-1, dtype=torch.float32).to(query.dtype)
    weights = nn.functional.dropout(weights, p=dropout, training=module.training)
    return torch.matmul(weights, value).transpose(1, 2).contiguous(), weights  # (B, T, nh, hd)


class ArithGPTAttention(nn.Module):
    def __init__(self, config: ArithGPTConfig, layer_idx: int):
        super().__init__()
        self.config = config
        self.layer_idx = layer_idx
        self.n_head = config.n_head
        self.head_dim = config.head_dim
        self.scaling = self.head_dim**-0.5
        self.is_causal = True  # read by transformers' SDPA function
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # fused q, k, v
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.c_proj.is_residual_projection = True
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x, attention_mask=None, rotary=None, layer_past: Cache | None = None, **kwargs):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).view(B, T, 3, self.n_head, self.head_dim).permute(2, 0, 3, 1, 4)  # 3x (B, nh, T, hd)
        if rotary is not None:
            q, k = apply_rotary(q, k, *rotary)
        if layer_past is not None:
            k, v = layer_past.update(k, v, self.layer_idx)
        attention = ALL_ATTENTION_FUNCTIONS.get_interface(self.config._attn_implementation, eager_attention_forward)
        y, weights = attention(self, q, k, v, attention_mask, scaling=self.scaling,
                               dropout=self.config.dropout if self.training else 0.0, **kwargs)
        return self.resid_dropout(self.c_proj(y.reshape(B, T, C))), weights


class ArithGPTMLP(nn.Module):
    def __init__(self, config: ArithGPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.c_proj.is_residual_projection = True
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class ArithGPTBlock(GradientCheckpointingLayer):
    def __init__(self, config: ArithGPTConfig, layer_idx: int):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon, bias=config.bias)
        self.attn = ArithGPTAttention(config, layer_idx)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon, bias=config.bias)
        self.mlp = ArithGPTMLP(config)

    # The cache travels as `layer_past`: the name under which GradientCheckpointingLayer drops it when recomputing a
    # block, in every transformers 5 release (its own name for it moved with the 5.24 rename).
    def forward(self, x, attention_mask=None, rotary=None, layer_past=None, **kwargs):
        x = x + self.attn(self.ln_1(x), attention_mask, rotary, layer_past, **kwargs)[0]
        return x + self.mlp(self.ln_2(x))


class ArithGPTPreTrainedModel(PreTrainedModel):
    config_class = ArithGPTConfig
    config: ArithGPTConfig
    base_model_prefix = "transformer"
    _no_split_modules = ["ArithGPTBlock"]
    _skip_keys_device_placement = [CACHE_FIELD]
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _can_compile_fullgraph = True
    _can_record_outputs = {"hidden_states": ArithGPTBlock, "attentions": ArithGPTAttention}

    @torch.no_grad()
    def _init_weights(self, module):
        if getattr(module, "is_residual_projection", False):
            # GPT-2: projections into the residual stream scaled by 1/sqrt(number of residual branches). The flag sits
            # on the Linear itself because initialize_weights visits children before parents and never revisits.
            std = self.config.initializer_range / math.sqrt(2 * max(self.config.n_layer, 1))
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
            return
        super()._init_weights(module)  # normal(0, initializer_range) weights, LayerNorms, RoPE buffers


def run_index(mask: torch.Tensor) -> torch.Tensor:
    """For each True in `mask` (B, T): how many True come right before it in its run (0, 1, 2, ...)."""
    index = torch.arange(mask.shape[-1], device=mask.device).expand_as(mask)
    last_break = torch.where(mask, torch.full_like(index, -1), index).cummax(dim=-1).values
    return index - last_break - 1


def restrict_to_coupled_window(mask, coupled_ids: torch.Tensor, window: int, past_length: int, query_length: int):
    """`mask` (what create_causal_mask made: None for plain causal, a 4D bool mask, or a 4D additive float mask)
    narrowed so that a query attends only to keys whose coupled id is within `window` of its own, and to itself: an
    answer digit then sees the same few columns at every length (an attention restricted by coupled id, cf.
    Attention Bias Calibration, Duan & Shi 2023). `coupled_ids` (B, past + T) covers every key, cached ones too.
    Plain tensor operations, so the mask costs what the causal one costs."""
    keys = coupled_ids.shape[-1]
    query_ids = coupled_ids[:, past_length : past_length + query_length]
    allowed = (coupled_ids[:, None, :] - query_ids[:, :, None]).abs() <= window  # (B, T, K)
    key_index = torch.arange(keys, device=coupled_ids.device)
    query_index = torch.arange(past_length, past_length + query_length, device=coupled_ids.device)
    allowed = (allowed | (key_index[None, :] == query_index[:, None])[None])[:, None]  # (B, 1, T, K)
    if mask is None:  # plain causal (no padding): build it
        return allowed & (key_index[None, :] <= query_index[:, None])[None, None]
    if not isinstance(mask, torch.Tensor) or mask.dim() != 4:
        raise ValueError(f"coupled_attention_window needs the eager or sdpa attention (a 4D mask), got "
                         f"{type(mask).__name__}")
    if mask.shape[-1] > keys:  # a static cache's unused slots stay masked
        allowed = nn.functional.pad(allowed, (0, mask.shape[-1] - keys), value=False)
    if mask.dtype == torch.bool:
        return mask & allowed
    return mask.masked_fill(~allowed, torch.finfo(mask.dtype).min)


class ArithGPTModel(ArithGPTPreTrainedModel):
    def __init__(self, config: ArithGPTConfig):
        super().__init__(config)
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd) if config.uses_position_table else None
        self.rotary = ArithGPTRotaryEmbedding(config) if config.uses_rope else None
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList([ArithGPTBlock(config, i) for i in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon, bias=config.bias)
        self.gradient_checkpointing = False
        self.post_init()

    def get_input_embeddings(self):
        return self.wte

    def set_input_embeddings(self, new_embeddings):
        self.wte = new_embeddings

    def coupled_position_ids(self, input_ids: torch.Tensor, offset: torch.Tensor | int = 0) -> torch.Tensor:
        """Position coupling: a digit's id is 1 + offset + its significance (0 = units); every other token gets 0.

        Significance comes from the token layout hf_arith's tokenizers write, with reversed answers:
        - digit-pair tokens (AlignedPairTokenizer) are columns, least significant first: their index in their run;
        - digits before the first "=" are operands written most significant first: digits after them in the run;
        - digits after "=" are the reversed answer, least significant first: their index in their run.
        So column i of a and b and digit i of the answer share one id, whatever the operand lengths.
        Every other token gets 0, except with `config.coupled_markers`: "start" gives the first "=" the id `offset`
        (the column below the units), "sentinel" also gives the operator `2 + offset + n_columns` (one past the last
        digit of an n_columns + 1 digit answer).
        """
        # Token ids are config constants, not buffers: nothing to restore after from_pretrained's meta-device build.
        digit_ids = torch.tensor(self.config.digit_token_ids, device=input_ids.device)
        pair_ids = torch.tensor(self.config.pair_token_ids or [], dtype=torch.long, device=input_ids.device)
        is_digit = torch.isin(input_ids, digit_ids)
        in_answer = (input_ids == self.config.equals_token_id).cumsum(dim=-1) > 0
        forward = torch.isin(input_ids, pair_ids) | (is_digit & in_answer)
        backward = is_digit & ~in_answer
        significance = torch.where(forward, run_index(forward), run_index(backward.flip(-1)).flip(-1))
        zeros = torch.zeros_like(significance)
        ids = torch.where(forward | backward, 1 + offset + significance, zeros)
        markers = self.config.coupled_markers
        if markers in ("start", "sentinel"):
            first_equals = (input_ids == self.config.equals_token_id) & ~(in_answer.cumsum(dim=-1) > 1)
            ids = torch.where(first_equals, zeros + offset, ids)
        if markers == "sentinel":
            operator_ids = torch.tensor(self.config.operator_token_ids, device=input_ids.device)
            is_operand = (forward | backward) & ~in_answer
            n_columns = torch.where(is_operand, significance + 1, zeros).amax(dim=-1, keepdim=True)
            is_operator = torch.isin(input_ids, operator_ids) & ~in_answer
            ids = torch.where(is_operator, 2 + offset + n_columns, ids)
        return ids

    def default_position_ids(self, input_ids, attention_mask, past_length: int, query_length: int, device):
        if self.config.position_embedding == "coupled":
            if input_ids is None or past_length > 0:
                raise ValueError("coupled positions are computed from the whole token sequence: pass position_ids "
                                 "with inputs_embeds or a cache (generate() computes them)")
            offset = 0
            if self.training and self.config.coupled_max_offset > 0:
                # One random shift per example trains the ids beyond the training lengths (Cho et al., McLeish et al.).
                offset = torch.randint(0, self.config.coupled_max_offset + 1, (input_ids.shape[0], 1), device=device)
            return self.coupled_position_ids(input_ids, offset)
        if attention_mask is not None and attention_mask.dim() == 2:
            # Positions count real tokens only, so a left-padded row gets the positions it has alone.
            positions = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
            return positions[:, past_length : past_length + query_length]
        return torch.arange(past_length, past_length + query_length, device=device)[None]

    @merge_with_config_defaults
    @capture_outputs
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        cache: Cache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        use_cache: bool | None = None,
        **kwargs,
    ) -> BaseModelOutputWithPast:
        cache = _pop_cache(cache, kwargs)
        # generate() passes the coupled ids of the whole sequence (cached tokens too) for the windowed mask
        coupled_key_ids = kwargs.pop("coupled_key_ids", None)
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids and inputs_embeds")
        if inputs_embeds is None:
            inputs_embeds = self.wte(input_ids)
        if use_cache and cache is None:
            cache = DynamicCache(config=self.config)
        past_length = cache.get_seq_length() if cache is not None else 0
        query_length = inputs_embeds.shape[1]
        if position_ids is None:
            position_ids = self.default_position_ids(input_ids, attention_mask, past_length, query_length,
                                                     inputs_embeds.device)

        x = inputs_embeds
        if self.wpe is not None:
            tracing = torch.compiler.is_compiling() or torch.compiler.is_exporting()
            if not tracing and int(position_ids.max()) >= self.config.n_positions:
                # A clear error instead of an index error deep in torch (skipped when tracing: data-dependent).
                raise ValueError(f"position {int(position_ids.max())} is beyond the learned position table "
                                 f"(n_positions={self.config.n_positions})")
            x = x + self.wpe(position_ids)
        rotary = self.rotary(x, position_ids) if self.rotary is not None else None
        x = self.drop(x)
        # An empty dynamic cache sizes the mask like no cache at all; leaving it out lets create_causal_mask find
        # packed sequences (position ids restarting at 0, no attention mask: padding-free training).
        # A static cache is tested first: its length is a tensor, and branching on it would break a compiled graph.
        fresh_cache = not getattr(cache, "is_compileable", False) and past_length == 0
        # The cache goes in as the fourth positional argument: its keyword is `past_key_values` up to 5.23 and
        # `cache` from 5.24 on (the old one warns there).
        mask = create_causal_mask(
            self.config, x, attention_mask, None if fresh_cache else cache,
            # coupled ids repeat and jump by design: they must not be read as packed sequences
            position_ids=None if self.config.position_embedding == "coupled" else position_ids,
        )
        if self.config.position_embedding == "coupled" and self.config.coupled_attention_window is not None:
            if coupled_key_ids is None:
                if past_length > 0:
                    raise ValueError("coupled_attention_window needs the coupled ids of every cached token: pass "
                                     "coupled_key_ids (generate() computes them)")
                coupled_key_ids = position_ids.expand(x.shape[0], -1)
            mask = restrict_to_coupled_window(mask, coupled_key_ids, self.config.coupled_attention_window,
                                              past_length, query_length)
        for block in self.h:
            x = block(x, mask, rotary, layer_past=cache, **kwargs)
        x = self.ln_f(x)
        return BaseModelOutputWithPast(last_hidden_state=x, **{CACHE_FIELD: cache if use_cache else None})


class ArithGPTForCausalLM(ArithGPTPreTrainedModel, GenerationMixin):
    _tied_weights_keys = {"lm_head.weight": "transformer.wte.weight"}

    def __init__(self, config: ArithGPTConfig):
        super().__init__(config)
        self.transformer = ArithGPTModel(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.post_init()

    def get_output_embeddings(self):
        return self.lm_head

    def set_output_embeddings(self, new_embeddings):
        self.lm_head = new_embeddings

    def prepare_inputs_for_generation(self, input_ids, *args, **kwargs):
        if self.config.position_embedding == "coupled":
            # generate() extends position ids by +1 per token; coupled ids follow the digits, so they are recomputed
            # from the whole sequence at every step (then sliced to the new tokens by the parent).
            kwargs["position_ids"] = self.transformer.coupled_position_ids(input_ids)
            if self.config.coupled_attention_window is not None:
                kwargs["coupled_key_ids"] = kwargs["position_ids"]  # not sliced: the mask needs every key's id
        return super().prepare_inputs_for_generation(input_ids, *args, **kwargs)

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        cache: Cache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        use_cache: bool | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        **kwargs,
    ) -> CausalLMOutputWithPast:
        r"""
        Args:
            cache: the KV cache (`past_key_values=` is accepted too: the name up to transformers 5.23).
            labels: (B, T) token ids; -100 marks positions that take no loss (prompt and padding). They are the
                input ids themselves: the loss shifts them by one.
            logits_to_keep: if an int > 0, compute logits for the last `logits_to_keep` positions only
                (generation needs just the last one).
        """
        # return_dict=True: the head reads fields, whatever config.return_dict says (can_return_tuple applies it to
        # this model's own output; transformers' Llama fails here when config.return_dict is False)
        outputs = self.transformer(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                                   cache=_pop_cache(cache, kwargs), inputs_embeds=inputs_embeds, use_cache=use_cache,
                                   return_dict=True, **kwargs)
        hidden = outputs.last_hidden_state
        keep = slice(-logits_to_keep, None) if isinstance(logits_to_keep, int) else logits_to_keep
        logits = self.lm_head(hidden[:, keep, :])
        loss = None
        if labels is not None:
            loss = self.loss_function(logits=logits, labels=labels, vocab_size=self.config.vocab_size, **kwargs)
        return CausalLMOutputWithPast(loss=loss, logits=logits, hidden_states=outputs.hidden_states,
                                      attentions=outputs.attentions, **{CACHE_FIELD: getattr(outputs, CACHE_FIELD)})


__all__ = ["ArithGPTForCausalLM", "ArithGPTModel", "ArithGPTPreTrainedModel"]
