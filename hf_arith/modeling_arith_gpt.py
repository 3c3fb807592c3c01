"""ArithGPT: nanoGPT (pre-LayerNorm blocks, fused qkv, GELU MLP x4, tied embeddings) as a transformers model.

Reads top to bottom like nanoGPT's model.py: rotary helpers, attention, MLP, block, the bare model, the LM head.
Only torch, transformers and the sibling configuration file are imported, so `save_pretrained` can ship this file
for `trust_remote_code` users.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn
from transformers import GenerationMixin, PreTrainedModel
from transformers import initialization as init
from transformers.cache_utils import Cache, DynamicCache
from transformers.modeling_outputs import BaseModelOutputWithPast, CausalLMOutputWithPast

from .configuration_arith_gpt import ArithGPTConfig


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary(q, k, cos, sin):
    # cos/sin: (B, T, hd) -> broadcast over heads
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
    return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin


class ArithGPTRotaryEmbedding(nn.Module):
    """Computes RoPE cos/sin once per forward in the model; every attention layer reuses them."""

    def __init__(self, config: ArithGPTConfig):
        super().__init__()
        self.head_dim = config.head_dim
        self.theta = config.rope_theta
        # Non-persistent: derived from the config, so it is not stored in the weights file.
        self.register_buffer("inv_freq", self.compute_inv_freq(), persistent=False)

    def compute_inv_freq(self) -> torch.Tensor:
        return 1.0 / (self.theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.float32) / self.head_dim))

    def forward(self, position_ids: torch.Tensor, dtype: torch.dtype):
        freqs = position_ids[:, :, None].float() * self.inv_freq[None, None, :]  # (B, T, hd/2)
        emb = torch.cat((freqs, freqs), dim=-1)  # (B, T, hd)
        return emb.cos().to(dtype), emb.sin().to(dtype)


class ArithGPTAttention(nn.Module):
    def __init__(self, config: ArithGPTConfig, layer_idx: int):
        super().__init__()
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.layer_idx = layer_idx
        self.dropout = config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # fused q, k, v
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.c_proj.is_residual_projection = True
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x, attention_mask=None, rotary=None, past_key_values: Cache | None = None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hd)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        if rotary is not None:
            q, k = apply_rotary(q, k, *rotary)
        if past_key_values is not None:
            k, v = past_key_values.update(k, v, self.layer_idx)
        # The model passes no mask exactly when plain causal attention over these T tokens is right.
        y = F.scaled_dot_product_attention(
            q, k, v,
            attn_mask=attention_mask,
            dropout_p=self.dropout if self.training else 0.0,
            is_causal=attention_mask is None and T > 1,
        )
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


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


class ArithGPTBlock(nn.Module):
    def __init__(self, config: ArithGPTConfig, layer_idx: int):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon, bias=config.bias)
        self.attn = ArithGPTAttention(config, layer_idx)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon, bias=config.bias)
        self.mlp = ArithGPTMLP(config)

    def forward(self, x, attention_mask=None, rotary=None, past_key_values=None):
        x = x + self.attn(self.ln_1(x), attention_mask, rotary, past_key_values)
        return x + self.mlp(self.ln_2(x))


class ArithGPTPreTrainedModel(PreTrainedModel):
    config_class = ArithGPTConfig
    config: ArithGPTConfig
    base_model_prefix = "transformer"
    _no_split_modules = ["ArithGPTBlock"]
    _skip_keys_device_placement = ["past_key_values"]
    _supports_sdpa = True

    @torch.no_grad()
    def _init_weights(self, module):
        if getattr(module, "is_residual_projection", False):
            # GPT-2: projections into the residual stream scaled by 1/sqrt(number of residual branches). The flag sits
            # on the Linear itself because initialize_weights visits children before parents and never revisits.
            std = self.config.initializer_range / math.sqrt(2 * max(self.config.n_layer, 1))
            init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                init.zeros_(module.bias)
            return
        super()._init_weights(module)
        if isinstance(module, ArithGPTRotaryEmbedding):
            # from_pretrained builds on the meta device, where non-persistent buffers are never filled in.
            init.copy_(module.inv_freq, module.compute_inv_freq())


def build_attention_mask(attention_mask, query_length: int, past_length: int, dtype_device_ref: torch.Tensor):
    """Turns a 2D padding mask into the 4D boolean mask SDPA takes, or None where plain causal attention is right.

    attention_mask: (B, past_length + query_length), 1 for real tokens, 0 for padding; None means no padding.
    """
    has_padding = attention_mask is not None and not bool(attention_mask.all())
    if not has_padding and (past_length == 0 or query_length == 1):
        return None  # SDPA's is_causal (or, for one query against the cache, no mask at all)
    key_length = past_length + query_length
    device = dtype_device_ref.device
    causal = torch.ones(query_length, key_length, dtype=torch.bool, device=device).tril(diagonal=past_length)
    mask = causal[None, None]  # (1, 1, T, S)
    if has_padding:
        mask = mask & attention_mask[:, None, None, :].bool()
        # A padding query sees no key at all; letting it see itself keeps softmax finite (and its output unused).
        diagonal = torch.zeros_like(causal)
        diagonal[:, past_length:] = torch.eye(query_length, dtype=torch.bool, device=device)
        mask = mask | diagonal[None, None]
    return mask


def default_position_ids(attention_mask, query_length: int, past_length: int, device) -> torch.Tensor:
    """Positions count real tokens only, so a left-padded row gets the same positions as the row alone."""
    if attention_mask is None:
        return torch.arange(past_length, past_length + query_length, device=device)[None]
    positions = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
    return positions[:, past_length : past_length + query_length]


class ArithGPTModel(ArithGPTPreTrainedModel):
    def __init__(self, config: ArithGPTConfig):
        super().__init__(config)
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd) if config.position_embedding == "learned" else None
        self.rotary = ArithGPTRotaryEmbedding(config) if config.position_embedding == "rope" else None
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList([ArithGPTBlock(config, i) for i in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon, bias=config.bias)
        self.post_init()

    def get_input_embeddings(self):
        return self.wte

    def set_input_embeddings(self, new_embeddings):
        self.wte = new_embeddings

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        past_key_values: Cache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        use_cache: bool | None = None,
        **kwargs,
    ) -> BaseModelOutputWithPast:
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids and inputs_embeds")
        if inputs_embeds is None:
            inputs_embeds = self.wte(input_ids)
        use_cache = use_cache if use_cache is not None else self.config.use_cache
        if use_cache and past_key_values is None:
            past_key_values = DynamicCache(config=self.config)
        past_length = past_key_values.get_seq_length() if past_key_values is not None else 0
        query_length = inputs_embeds.shape[1]
        if position_ids is None:
            position_ids = default_position_ids(attention_mask, query_length, past_length, inputs_embeds.device)

        x = inputs_embeds
        rotary = None
        if self.wpe is not None:
            if int(position_ids.max()) >= self.config.n_positions:
                raise ValueError(
                    f"position {int(position_ids.max())} is beyond the learned position table "
                    f"(n_positions={self.config.n_positions})"
                )
            x = x + self.wpe(position_ids)
        elif self.rotary is not None:
            rotary = self.rotary(position_ids, x.dtype)
        x = self.drop(x)
        mask = build_attention_mask(attention_mask, query_length, past_length, x)
        for block in self.h:
            x = block(x, mask, rotary, past_key_values)
        x = self.ln_f(x)
        return BaseModelOutputWithPast(last_hidden_state=x, past_key_values=past_key_values if use_cache else None)


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

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        past_key_values: Cache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        use_cache: bool | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        **kwargs,
    ) -> CausalLMOutputWithPast:
        r"""
        Args:
            labels: (B, T) token ids; -100 marks positions that take no loss (prompt and padding). They are the
                input ids themselves: the loss shifts them by one.
            logits_to_keep: if an int > 0, compute logits for the last `logits_to_keep` positions only
                (generation needs just the last one).
        """
        outputs = self.transformer(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            past_key_values=past_key_values,
            inputs_embeds=inputs_embeds,
            use_cache=use_cache,
        )
        hidden = outputs.last_hidden_state
        keep = slice(-logits_to_keep, None) if isinstance(logits_to_keep, int) else logits_to_keep
        logits = self.lm_head(hidden[:, keep, :])
        loss = None
        if labels is not None:
            loss = self.loss_function(logits=logits, labels=labels, vocab_size=self.config.vocab_size, **kwargs)
        return CausalLMOutputWithPast(loss=loss, logits=logits, past_key_values=outputs.past_key_values)


__all__ = ["ArithGPTForCausalLM", "ArithGPTModel", "ArithGPTPreTrainedModel"]
