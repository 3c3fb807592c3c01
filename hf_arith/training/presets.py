"""Named training presets: model, data and Trainer settings that reproduce one experiment each.

A preset's values are defaults: a --config file overrides them, and command-line flags override both.
The measured result of each preset is in the README.
"""

_ARITH_TRAINING = dict(
    learning_rate=3e-3, warmup_steps=30, lr_scheduler_type="cosine", weight_decay=0.1, adam_beta2=0.99,
    per_device_train_batch_size=256, per_device_eval_batch_size=1000, max_steps=3000, eval_strategy="steps",
    eval_steps=50, save_strategy="steps", save_steps=500, save_total_limit=1, logging_steps=25, seed=0,
)


def _arith(data_preset, model=None, data=None, training=None):
    return {"data_preset": data_preset, "model": dict(model or {}), "data": dict(data or {}),
            "training": {**_ARITH_TRAINING, **(training or {})}}


def _corpus(model, block_size, training, run=None):
    """A character language-modelling preset: no arithmetic data, validation loss instead of exact match."""
    return {"data_preset": None, "model": {"tokenizer": "char", **model}, "data": {"block_size": block_size},
            "training": {"lr_scheduler_type": "cosine", "per_device_eval_batch_size": 256, "eval_strategy": "steps",
                         "save_strategy": "steps", "save_steps": 1000, "save_total_limit": 1, "seed": 0, **training},
            "run": {"target_exact_match": None, **(run or {})}}


TRAINING_PRESETS = {
    # The default: 3-digit addition, reversed zero-padded answers, aligned digit pairs, 2 x 128. Zero padding fixes
    # where EOS goes; without it, short sums ("7+5=211") were the last 0.7 % of errors.
    "add3": _arith("add3", model=dict(tokenizer="aligned", n_layer=2, n_embd=128, n_head=4),
                   data=dict(zero_pad=True), training=dict(max_steps=400)),
    # Seed 001's comparison: character tokens, reversed answers, RoPE vs learned positions.
    "add3-rope": _arith("add3", model=dict(tokenizer="char", n_layer=2, n_embd=128, n_head=4,
                                           position_embedding="rope"), training=dict(max_steps=1500)),
    "add3-learned": _arith("add3", model=dict(tokenizer="char", n_layer=2, n_embd=128, n_head=4,
                                              position_embedding="learned"), training=dict(max_steps=1500)),
    # Seed 003: 9-digit addition, aligned pairs vs characters (both zero-padded, so every column is at a fixed
    # position; the character model then needs attention to line the columns up, the pair model does not).
    "add9": _arith("add9", model=dict(tokenizer="aligned", n_layer=2, n_embd=128, n_head=4),
                   data=dict(zero_pad=True), training=dict(max_steps=900)),
    "add9-char": _arith("add9", model=dict(tokenizer="char", n_layer=2, n_embd=128, n_head=4,
                                           position_embedding="learned"),
                        data=dict(zero_pad=True),
                        training=dict(per_device_train_batch_size=64, max_steps=1500, warmup_steps=50,
                                      eval_steps=100, logging_steps=100)),
    # The calculator: one model for + - * / with chain-of-thought traces, zero-padded so every step sits at a fixed
    # position (learned positions then suffice), small batches (more updates per CPU second).
    "calc3": _arith("calc3", model=dict(tokenizer="char", n_layer=3, n_embd=128, n_head=4,
                                        position_embedding="learned"),
                    data=dict(zero_pad=True),
                    training=dict(per_device_train_batch_size=64, max_steps=2600, warmup_steps=50, eval_steps=100,
                                  logging_steps=100)),
    # Seed 000: 3-digit multiplication in four formats. Zero padding makes the chain-of-thought fixed-width (every
    # partial product and running sum has the answer's 6 digits), which is what lets the CoT formats learn in
    # minutes on a CPU; batch 64 gives 4x the updates of batch 256 for the same CPU time.
    **{f"mul3-{fmt}": _arith(f"mul3-{fmt}", model=dict(tokenizer="char", n_layer=3, n_embd=128, n_head=4,
                                                       position_embedding="learned"),
                             data=dict(zero_pad=True),
                             training=dict(per_device_train_batch_size=64, max_steps=950, warmup_steps=50,
                                           eval_steps=100, logging_steps=100))
       for fmt in ("plain", "reverse_cot", "sum_cot", "reverse_sum_cot")},
    # Seed 000's 6-digit multiplication with chain of thought: sized for a GPU (measured on an H100, see README).
    "mul6-reverse_sum_cot": _arith("mul6-reverse_sum_cot",
                                   model=dict(tokenizer="char", n_layer=6, n_embd=256, n_head=8,
                                              position_embedding="rope"),
                                   data=dict(zero_pad=True),
                                   training=dict(learning_rate=1e-3, per_device_train_batch_size=512, max_steps=6000,
                                                 warmup_steps=200, eval_steps=250, save_steps=2000,
                                                 logging_steps=100)),
    # Seeds 002/004: Tiny Shakespeare, character level (nanoGPT's laptop configuration).
    "shakespeare-char": _corpus(
        model=dict(n_layer=4, n_embd=128, n_head=4, position_embedding="learned", dropout=0.0), block_size=64,
        training=dict(learning_rate=2e-3, warmup_steps=50, weight_decay=0.1, adam_beta2=0.99,
                      per_device_train_batch_size=12, max_steps=2000, eval_steps=250, logging_steps=50)),
    # The best we reached in a 15-minute CPU budget: deeper, longer context, same recipe (see README).
    "shakespeare-char-15min": _corpus(
        model=dict(n_layer=6, n_embd=128, n_head=4, position_embedding="learned", dropout=0.0), block_size=128,
        training=dict(learning_rate=2e-3, warmup_steps=100, weight_decay=0.1, adam_beta2=0.99,
                      per_device_train_batch_size=12, max_steps=3600, eval_steps=500, logging_steps=100),
        run=dict(max_train_seconds=870)),
    "shakespeare-bigram": _corpus(
        model=dict(n_layer=0, n_embd=128, n_head=4, position_embedding="none"), block_size=64,
        training=dict(learning_rate=1e-2, warmup_steps=20, weight_decay=0.0, per_device_train_batch_size=32,
                      max_steps=1500, eval_steps=250, logging_steps=50)),
}


def get_training_preset(name: str) -> dict:
    if name not in TRAINING_PRESETS:
        raise ValueError(f"unknown preset {name!r}; expected one of {sorted(TRAINING_PRESETS)}")
    return TRAINING_PRESETS[name]
