"""Dataclass arguments of `hf-arith train` (parsed with HfArgumentParser together with TrainingArguments)."""

from dataclasses import dataclass, field

TOKENIZERS = ("char", "aligned")


@dataclass
class ModelArguments:
    tokenizer: str = field(default="aligned", metadata={"help": f"one of {TOKENIZERS}"})
    n_layer: int = field(default=2, metadata={"help": "transformer blocks (0: bigram baseline)"})
    n_embd: int = field(default=128, metadata={"help": "residual width"})
    n_head: int = field(default=4, metadata={"help": "attention heads"})
    position_embedding: str = field(default="learned", metadata={"help": "learned, rope or none"})
    dropout: float = field(default=0.0, metadata={"help": "dropout probability"})
    bias: bool = field(default=True, metadata={"help": "bias in linear layers and LayerNorms"})


@dataclass
class DataArguments:
    operations: str | None = field(default=None, metadata={"help": "operations to mix, e.g. '+' or '+-*/'"})
    min_digits: int | None = field(default=None, metadata={"help": "shortest operand length"})
    max_digits: int | None = field(default=None, metadata={"help": "longest operand length"})
    format: str | None = field(default=None, metadata={"help": "trace format (plain, reversed, reverse_cot, ...)"})
    zero_pad: bool | None = field(default=None, metadata={"help": "zero-pad operands and answer to max_digits"})
    train_size: int | None = field(default=None, metadata={"help": "distinct training problems"})
    validation_size: int | None = field(default=None, metadata={"help": "held-out problems for evals in training"})
    test_size: int | None = field(default=None, metadata={"help": "held-out problems for the final evaluation"})
    data_seed_value: int | None = field(default=None, metadata={"help": "seed of the problem splits"})
    corpus_file: str | None = field(default=None, metadata={"help": "text corpus (character language modelling)"})
    block_size: int = field(default=64, metadata={"help": "context length for character language modelling"})


@dataclass
class RunArguments:
    preset: str = field(default="add3", metadata={"help": "named preset: its settings are the defaults"})
    config: str | None = field(default=None, metadata={"help": "JSON or YAML file of arguments (over the preset)"})
    target_exact_match: float | None = field(
        default=0.995, metadata={"help": "stop once held-out exact match (teacher-forced) reaches this"})
    max_train_seconds: float | None = field(
        default=None, metadata={"help": "stop training after this many wall-clock seconds (a budget, not a schedule: "
                                        "set max_steps so the learning-rate schedule ends near it)"})
    data_cache_dir: str | None = field(default=None, metadata={"help": "datasets cache folder"})
    eval_batch_size: int = field(default=1000, metadata={"help": "batch size of the final generation-based eval"})
