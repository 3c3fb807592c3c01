"""Named training presets: each is a flat dict of settings (model, data, run and Trainer fields) that reproduces one
experiment. Its values are defaults: a --config file overrides them, and command-line flags override both.
Each preset's measured result is in docs/ (README.md's table links them); docs/reproduce.md has the commands.
"""

from ..data.builder import data_preset
from ..data.traces import MULTIPLICATION_FORMATS

_ARITH_TRAINING = dict(
    learning_rate=3e-3, warmup_steps=30, lr_scheduler_type="cosine", weight_decay=0.1, adam_beta2=0.99,
    per_device_train_batch_size=256, per_device_eval_batch_size=1000, max_steps=3000, eval_strategy="steps",
    eval_steps=50, save_strategy="steps", save_steps=500, save_total_limit=1, logging_steps=25, seed=0,
    remove_unused_columns=False,
)
# Small batches give more updates per CPU second: the chain-of-thought presets train with 64.
_SMALL_BATCH = dict(per_device_train_batch_size=64, warmup_steps=50, eval_steps=100, logging_steps=100)


def _arith(data: str, **settings) -> dict:
    """An arithmetic preset: a data preset's settings, hf_arith's Trainer defaults, then this preset's own values."""
    return {"task": "arithmetic", **data_preset(data).data_settings(), **_ARITH_TRAINING, **settings}


def _corpus(**settings) -> dict:
    """A character language-modelling preset: validation loss instead of exact match, no target."""
    return {"task": "corpus", "tokenizer": "char", "target_exact_match": 0, "lr_scheduler_type": "cosine",
            "per_device_eval_batch_size": 256, "eval_strategy": "steps", "save_strategy": "steps", "save_steps": 1000,
            "save_total_limit": 1, "seed": 0, "remove_unused_columns": False, **settings}


_TWO_LAYERS = dict(n_layer=2, n_embd=128, n_head=4)
_THREE_LAYERS = dict(n_layer=3, n_embd=128, n_head=4)

# Train on the suites' distributions and run the whole schedule: the last steps at a small learning rate remove the
# rare carry errors (docs/evaluation.md).
_RIGHT_EVERY_TIME = dict(train_mix="lengths:1,values:1,hard:1", target_exact_match=0)

TRAINING_PRESETS = {
    # The default: 3-digit addition, reversed zero-padded answers, aligned digit pairs, 2 x 128. Zero padding fixes
    # where EOS goes; without it, short sums ("7+5=211") were the last 0.7 % of errors.
    "add3": _arith("add3", tokenizer="aligned", **_TWO_LAYERS, zero_pad=True, **_RIGHT_EVERY_TIME, max_steps=800),
    # Seed 001's comparison: character tokens, reversed answers, RoPE vs learned positions.
    "add3-rope": _arith("add3", tokenizer="char", **_TWO_LAYERS, position_embedding="rope", max_steps=1500),
    "add3-learned": _arith("add3", tokenizer="char", **_TWO_LAYERS, position_embedding="learned", max_steps=1500),
    # Seed 003: 9-digit addition, aligned pairs vs characters (both zero-padded, so every column is at a fixed
    # position; the character model then needs attention to line the columns up, the pair model does not).
    "add9": _arith("add9", tokenizer="aligned", **_TWO_LAYERS, zero_pad=True, **_RIGHT_EVERY_TIME, max_steps=1500),
    "add9-char": _arith("add9", tokenizer="char", **_TWO_LAYERS, zero_pad=True,
                        **{**_SMALL_BATCH, "max_steps": 1500}),
    # The calculator: + - * / chains of thought, each step local and at a fixed width (docs/calculator.md). Division
    # is weighted most (the measured order of difficulty); half of each batch goes to the cells with the highest loss;
    # 10,000 steps is the shortest schedule measured right on every cell on three seeds (8,000 missed one figure).
    "calc3": _arith("calc3", tokenizer="char", **_TWO_LAYERS, zero_pad=True, **_RIGHT_EVERY_TIME,
                    format="cot_div_nonrestoring", length_buckets=True, operation_weights="+:1,-:1,*:2,/:4",
                    focus_share=0.5,
                    **{**_SMALL_BATCH, "max_steps": 10000, "eval_steps": 1000, "save_steps": 1000},
                    suites="test,uniform,full_width,hard,edge,cells,division_cases"),
    # Seed 000: 3-digit multiplication in four formats. Zero padding makes the chain of thought fixed-width (every
    # partial product and running sum has the answer's 6 digits), which is what lets the CoT formats learn in
    # minutes on a CPU.
    # (The four formats' comparison keeps the easy split's recipe; reverse_sum_cot, the one that learns, gets the
    # hard-case recipe and a longer schedule below.)
    **{f"mul3-{fmt}": _arith(f"mul3-{fmt}", tokenizer="char", **_THREE_LAYERS, zero_pad=True,
                             **{**_SMALL_BATCH, "max_steps": 950})
       for fmt in MULTIPLICATION_FORMATS if fmt != "reverse_sum_cot"},
    "mul3-reverse_sum_cot": _arith("mul3-reverse_sum_cot", tokenizer="char", **_THREE_LAYERS, zero_pad=True,
                                   **_RIGHT_EVERY_TIME, **{**_SMALL_BATCH, "max_steps": 1400}),
    # Seed 000's 6-digit multiplication with chain of thought: sized for a GPU (docs/notebooks.md).
    "mul6-reverse_sum_cot": _arith("mul6-reverse_sum_cot", tokenizer="char", n_layer=6, n_embd=256, n_head=8,
                                   position_embedding="rope", zero_pad=True, learning_rate=1e-3,
                                   per_device_train_batch_size=512, max_steps=6000, warmup_steps=200, eval_steps=250,
                                   save_steps=2000, logging_steps=100),
    # Length generalization: train on 1-20 digits, add numbers of up to 256 digits. Aligned digit pairs (one column
    # per token) and position coupling: column i of a and b and digit i of the reversed answer share one position id.
    # Each problem is zero-padded to its longer operand, so an n-column sum has n + 1 digits; "=" sits one id below
    # the units and the operator one id past the answer's last digit (the sentinel that says "stop"); RoPE over the
    # coupled ids, and each token attends only to ids within 1 of its own, so an answer digit sees the same columns at
    # 200 digits as at 20. One layer (the task is one local step per digit). docs/length-generalization.md.
    "add-length": _arith("add3", operations="+", min_digits=1, max_digits=20, format="reversed", zero_pad=False,
                         pad_to_longer=True, train_size=500_000, validation_size=1_000, test_size=2_000,
                         train_mix="lengths:3,hard:1", tokenizer="aligned", tokenizer_max_digits=256,
                         fixed_columns=False, position_embedding="coupled", coupled_embedding="rope",
                         coupled_markers="sentinel", coupled_attention_window=1, n_layer=1, n_embd=128, n_head=4,
                         per_device_train_batch_size=128, learning_rate=1e-3, warmup_steps=100, max_steps=2000,
                         eval_steps=500, save_steps=1000, logging_steps=100, target_exact_match=0,
                         suites="test,hard,hard_100,length_50,length_100,length_200", suite_size=1000),
    # Seeds 002/004: Tiny Shakespeare, character level (nanoGPT's laptop configuration: its shape and batch).
    # The periodic evaluations score 240 validation blocks (nanoGPT's estimate: eval_iters 20 x batch 12), the final
    # one every block of the last 10 % (the figure reported). RoPE and lr 3e-3: measured on three seeds against
    # learned positions and 2e-3; 1,800 steps so that the whole process ends before nanoGPT's 2,000 iterations do
    # (docs/shakespeare.md).
    "shakespeare-char": _corpus(n_layer=4, n_embd=128, n_head=4, block_size=64, position_embedding="rope",
                                learning_rate=3e-3, warmup_steps=50,
                                weight_decay=0.1, adam_beta2=0.99, per_device_train_batch_size=12, max_steps=1800,
                                eval_steps=250, logging_steps=50, eval_blocks=240),
    # The best we reached in a 15-minute CPU budget: deeper, longer context, the same recipe (RoPE, lr 3e-3), and
    # 5,400 steps to fill 15 minutes on a 2-core CPU (docs/shakespeare.md).
    "shakespeare-char-15min": _corpus(n_layer=6, n_embd=128, n_head=4, block_size=128, position_embedding="rope",
                                      learning_rate=3e-3, warmup_steps=100, weight_decay=0.1, adam_beta2=0.99,
                                      per_device_train_batch_size=12, max_steps=5400, eval_steps=500,
                                      logging_steps=100, eval_blocks=240),
    "shakespeare-bigram": _corpus(n_layer=0, n_embd=128, n_head=4, position_embedding="none", block_size=64,
                                  learning_rate=1e-2, warmup_steps=20, weight_decay=0.0, per_device_train_batch_size=32,
                                  max_steps=1500, eval_steps=250, logging_steps=50),
}


def get_training_preset(name: str) -> dict:
    if name not in TRAINING_PRESETS:
        raise ValueError(f"unknown preset {name!r}; expected one of {sorted(TRAINING_PRESETS)}")
    return TRAINING_PRESETS[name]


__all__ = ["TRAINING_PRESETS", "get_training_preset"]
