"""The settings of `hf-arith train`, resolved ONCE into one typed spec: preset < config file < command-line flags.

    spec = parse_train_args(["--preset", "add9", "--max_steps", "500"])
    spec.model.n_layer, spec.data.max_digits, spec.run.target_exact_match, spec.training.learning_rate

A preset is a flat dict of field values (`presets.py`); it and the config file become the parser's defaults, so the
command line overrides both and every value passes through the same argparse types and dataclass checks.
"""

import argparse
import enum
import json
import math
import os
import shlex
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

from transformers import HfArgumentParser, TrainingArguments

from ..data.problems import MAX_OPERAND_DIGITS
from ..data.settings import ArithmeticDataSettings, check_int
from ..data.suites import check_suites, parse_suite_names
from .presets import get_training_preset

# The coupled-position settings and their defaults: set to anything else, they need position_embedding coupled.
COUPLED_DEFAULTS = {"coupled_embedding": "learned", "coupled_max_offset": 0, "coupled_markers": "none",
                    "coupled_attention_window": -1}


@dataclass
class ModelArguments:
    tokenizer: Literal["char", "aligned"] = field(default="aligned", metadata={
        "help": "char: one token per character; aligned: one token per digit column (AlignedPairTokenizer)"})
    tokenizer_max_digits: int | None = field(default=None, metadata={
        "help": "longest operand the tokenizer (and position table) accept; default: the data's max_digits"})
    fixed_columns: bool = field(default=True, metadata={
        "help": "aligned tokenizer: pad every prompt to tokenizer_max_digits columns (else to its longer operand)"})
    n_layer: int = field(default=2, metadata={"help": "transformer blocks (0: bigram baseline)"})
    n_embd: int = field(default=128, metadata={"help": "residual width"})
    n_head: int = field(default=4, metadata={"help": "attention heads"})
    position_embedding: Literal["learned", "rope", "none", "coupled"] = field(default="learned", metadata={
        "help": "coupled: digits of equal significance share a position id (position coupling)"})
    coupled_embedding: Literal["learned", "rope"] = field(default="learned", metadata={
        "help": "for coupled positions: a learned table over the coupled ids, or RoPE"})
    coupled_max_offset: int = field(default=0, metadata={
        "help": "for coupled positions: random per-example offset of the ids in training, in [0, this]"})
    coupled_markers: Literal["none", "start", "sentinel"] = field(default="none", metadata={
        "help": "for coupled positions: ids of the non-digit tokens; start: '=' one below the units column; "
                "sentinel: also the operator one past the answer's last digit (with --pad_to_longer)"})
    coupled_attention_window: int = field(default=-1, metadata={
        "help": "for coupled positions: attend only to tokens whose coupled id is within this distance "
                "(-1, the default: to every earlier token)"})
    dropout: float = field(default=0.0, metadata={"help": "dropout probability"})
    bias: bool = field(default=True, metadata={"help": "bias in linear layers and LayerNorms"})

    def __post_init__(self):
        if self.tokenizer_max_digits is not None:
            check_int("tokenizer_max_digits", self.tokenizer_max_digits, 1)
            if self.tokenizer_max_digits > MAX_OPERAND_DIGITS:
                raise ValueError(f"tokenizer_max_digits must be at most {MAX_OPERAND_DIGITS:,}, got "
                                 f"{self.tokenizer_max_digits:,}")
        check_int("coupled_max_offset", self.coupled_max_offset, 0)
        check_int("coupled_attention_window", self.coupled_attention_window, -1)
        if self.position_embedding != "coupled":  # else they would be silently ignored
            for name, default in COUPLED_DEFAULTS.items():
                if getattr(self, name) != default:
                    raise ValueError(f"--{name} {getattr(self, name)!r} applies to coupled positions only, but "
                                     f"--position_embedding is {self.position_embedding!r}: set --{name} "
                                     f"{default!r} or --position_embedding coupled")


@dataclass
class DataArguments(ArithmeticDataSettings):
    task: Literal["arithmetic", "corpus"] = field(default="arithmetic", metadata={
        "help": "arithmetic traces, or character language modelling of a text corpus"})
    corpus_file: str | None = field(default=None, metadata={
        "help": "text corpus (corpus task); default: the shipped Tiny Shakespeare"})
    block_size: int = field(default=64, metadata={"help": "context length (corpus task)"})
    eval_blocks: int | None = field(default=None, metadata={
        "help": "corpus task: the periodic evaluations during training score this many validation blocks (a fixed "
                "seeded sample, as nanoGPT's eval_iters x batch_size estimate); the final evaluation scores every "
                "block. Default: every block each time"})

    def __post_init__(self):
        if self.task == "arithmetic":
            self.validate()
        else:
            check_int("block_size", self.block_size, 2)
        if self.eval_blocks is not None:
            check_int("eval_blocks", self.eval_blocks, 1)


@dataclass
class RunArguments:
    preset: str = field(default="add3", metadata={"help": "named preset: its settings are the defaults"})
    config: str | None = field(default=None, metadata={
        "help": "JSON or YAML file of settings (over the preset; may name the preset itself)"})
    target_exact_match: float = field(default=0.995, metadata={
        "help": "stop once validation exact match reaches this (arithmetic task); 0: no target, run the whole "
                "schedule"})
    max_train_seconds: float | None = field(default=None, metadata={
        "help": "stop training after this many wall-clock seconds of training; the learning-rate decay then follows "
                "the clock as well as the steps (cosine or linear), so a run the budget cuts short ends annealed, and "
                "its card and summary say how many steps ran"})
    data_cache_dir: str | None = field(default=None, metadata={"help": "datasets cache folder"})
    eval_batch_size: int = field(default=1000, metadata={"help": "batch size of the final generation-based eval"})
    suites: str = field(default="test,uniform,full_width,hard,edge", metadata={
        "help": "suites scored by greedy generation at the end (arithmetic task): test (the test split), uniform, "
                "full_width, hard, edge, cells, exhaustive, exhaustive_add/_sub/_mul/_div, validation"})
    suite_size: int = field(default=10_000, metadata={"help": "problems per operation in the drawn suites"})
    cell_size: int = field(default=1_000, metadata={
        "help": "problems per (operation, operand lengths) cell and per division case in the cells suite"})
    length_buckets: bool = field(default=False, metadata={
        "help": "train each batch in groups of rows of similar length (one forward each, no row padded to the "
                "batch's longest); the loss and gradient are the whole batch's (1.4x faster on calc3)"})
    focus_share: float = field(default=0.0, metadata={
        "help": "arithmetic task: this share of the training rows is drawn by (operation, operand lengths) cell, "
                "each cell weighted by its mean loss on a fixed probe of training problems, rescored every "
                "--focus_every steps; the rest uniformly (0: off)"})
    focus_within: Literal["all", "operation"] = field(default="all", metadata={
        "help": "what the focus weighs against each other: all cells, or each operation's cells within that "
                "operation's share of the training rows"})
    focus_cases: bool = field(default=False, metadata={
        "help": "the focus also weighs the division cases a = b, b = 1, r = 0, r = b - 1 as groups of their own "
                "(a division in one leaves its cell's group)"})
    focus_every: int = field(default=250, metadata={"help": "steps between two scorings of the focus probe"})
    focus_probe: int = field(default=64, metadata={"help": "training problems per cell in the focus probe"})
    optimizer: Literal["adamw", "muon"] = field(default="adamw", metadata={
        "help": "adamw: the Trainer's fused AdamW; muon: Muon for the blocks' 2-D weights and AdamW for the rest "
                "(one learning rate: Muon's is scaled to AdamW's update size)"})
    muon_lr_scale: float = field(default=1.0, metadata={
        "help": "--optimizer muon: Muon's learning rate relative to --learning_rate"})
    overwrite_output_dir: bool = field(default=False, metadata={
        "help": "replace a finished model in the output folder (otherwise it is refused)"})

    def __post_init__(self):
        if self.target_exact_match is None:  # a preset or config file may say "no target" as null
            self.target_exact_match = 0.0
        if not 0 <= self.target_exact_match <= 1:
            raise ValueError(f"--target_exact_match must be in [0, 1] (0: no target), got {self.target_exact_match}")
        if self.max_train_seconds is not None and not self.max_train_seconds > 0:
            raise ValueError(f"--max_train_seconds must be positive, got {self.max_train_seconds}")
        check_int("eval_batch_size", self.eval_batch_size, 1)
        check_int("suite_size", self.suite_size, 1)
        check_int("cell_size", self.cell_size, 1)
        if not 0 <= self.focus_share <= 1:
            raise ValueError(f"--focus_share must be in [0, 1] (0: off), got {self.focus_share}")
        check_int("focus_every", self.focus_every, 1)
        check_int("focus_probe", self.focus_probe, 1)
        if not (math.isfinite(self.muon_lr_scale) and self.muon_lr_scale > 0):
            raise ValueError(f"--muon_lr_scale must be a positive number, got {self.muon_lr_scale}")
        parse_suite_names(self.suites)


@dataclass
class TrainSpec:
    """Everything one training run needs, resolved: read by the task, the Trainer wiring and the artifacts."""

    model: ModelArguments
    data: DataArguments
    run: RunArguments
    training: TrainingArguments
    command: str


ARGUMENT_CLASSES = (ModelArguments, DataArguments, RunArguments, TrainingArguments)
SETTING_FIELDS = {f.name for cls in ARGUMENT_CLASSES for f in fields(cls)}


def read_config_file(path: str) -> dict:
    if not os.path.isfile(path):
        raise ValueError(f"config file {path!r} does not exist")
    import yaml  # only config files need it

    text = Path(path).read_text()
    try:
        settings = yaml.safe_load(text) if path.endswith((".yaml", ".yml")) else json.loads(text)
    except (ValueError, yaml.YAMLError) as error:  # JSONDecodeError is a ValueError, YAMLError is not
        raise ValueError(f"config file {path!r} is not valid: {str(error).splitlines()[0]}") from None
    if not isinstance(settings, dict):
        raise ValueError(f"config file {path!r} must hold a mapping of setting names to values")
    unknown = sorted(set(settings) - SETTING_FIELDS)
    if unknown:
        raise ValueError(f"config file {path!r} has unknown settings {unknown}")
    for name, value in settings.items():
        # A file's values reach the dataclasses as they are (argparse converts only strings): checked here against
        # each field's declared type, before any work.
        annotation = FIELD_TYPES[name]
        if not _matches(value, annotation):
            raise ValueError(f"config file {path!r}: {name} must be {_describe(annotation)}, got {value!r}")
    return settings


def _field_types() -> dict:
    hints = {}
    for cls in ARGUMENT_CLASSES:
        resolved = typing.get_type_hints(cls)
        hints.update({f.name: resolved.get(f.name, typing.Any) for f in fields(cls)})
    return hints


def _matches(value, annotation) -> bool:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in args)
    if annotation is type(None):
        return value is None
    if origin is Literal:
        return any(value == choice and type(value) is type(choice) for choice in args)
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:  # bool is an int to Python, not to a config file
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if origin in (list, tuple) or annotation in (list, tuple):
        return isinstance(value, list)
    if origin is dict or annotation is dict:
        return isinstance(value, dict)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return isinstance(value, annotation) or value in {member.value for member in annotation}
    return True  # a type this check does not know: the field's own checks decide


def _describe(annotation) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(arg) for arg in args)
    if annotation is type(None):
        return "null"
    if origin is Literal:
        return "one of " + ", ".join(map(repr, args))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(repr(member.value) for member in annotation)
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    return names.get(annotation, f"a {getattr(origin or annotation, '__name__', annotation)}")


FIELD_TYPES = _field_types()


def _raise_value_error(message):
    raise ValueError(message)


# Options no preset uses, each measured and kept reproducible (docs/training.md): `--help` leaves them out,
# `--help_all` shows them.
MEASURED_ALTERNATIVES = ("coupled_max_offset", "division_guess_noise", "focus_within", "focus_cases")
MAIN_FORMATS = ("plain", "reversed", "reverse_cot", "sum_cot", "reverse_sum_cot", "cot", "cot_div_nonrestoring")


def _hide_measured_alternatives(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if action.dest in MEASURED_ALTERNATIVES:
            action.help = argparse.SUPPRESS
        elif action.dest == "format":
            action.help = f"trace format: {', '.join(MAIN_FORMATS)} (--help_all lists every measured layout)"


def parse_train_args(argv: list[str]) -> TrainSpec:
    """Resolves preset < config file < flags into a TrainSpec. A preset named in the config file is honoured in
    full (its model, data, training settings and output folder), unless `--preset` on the command line names one."""
    show_all = any(arg in ("--help_all", "--help-all") for arg in argv)
    argv = ["--help" if arg in ("--help_all", "--help-all") else arg for arg in argv]
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--preset", default=None)
    early.add_argument("--config", default=None)
    known, _ = early.parse_known_args(argv)
    from_file = read_config_file(known.config) if known.config else {}
    preset_name = known.preset or from_file.get("preset") or "add3"
    preset = get_training_preset(preset_name)
    parser = HfArgumentParser(ARGUMENT_CLASSES, prog="hf-arith train")
    parser.error = _raise_value_error  # the CLI turns it into one line and exit code 2
    if not show_all:
        _hide_measured_alternatives(parser)
    # ArithGPT uses every parameter in every forward pass: DDP's search for unused ones is a wasted graph walk a step
    # Pinned memory only helps copies to a GPU; on a CPU-only machine torch warns about it on every dataloader.
    import torch

    defaults = {"output_dir": f"outputs/{preset_name}", "ddp_find_unused_parameters": False,
                "dataloader_pin_memory": torch.cuda.is_available()}
    parser.set_defaults(**{**defaults, **preset, **from_file, "preset": preset_name})
    model, data, run, training = parser.parse_args_into_dataclasses(args=argv)
    spec = TrainSpec(model, data, run, training, command=shlex.join(["hf-arith", "train", *argv]))
    check_spec(spec)
    return spec


def check_reporting(report_to) -> None:
    """An integration --report_to names must be installed: the Trainer would find out only once built."""
    from transformers.integrations import get_available_reporting_integrations

    names = [report_to] if isinstance(report_to, str) else list(report_to or [])
    missing = [name for name in names if name not in ("none", "all") and name not in
               get_available_reporting_integrations()]
    if missing:
        raise ValueError(f"--report_to {missing[0]!r} is not installed here (installed: "
                         f"{get_available_reporting_integrations() or 'none'})")


def check_spec(spec: TrainSpec) -> None:
    """Checks that span several argument groups, before any work (a run must not fail after training on a value
    that was bad from the start)."""
    training, data, run = spec.training, spec.data, spec.run
    if training.max_steps == 0 or training.max_steps < -1:
        raise ValueError(f"--max_steps must be >= 1 (or -1 to train by epochs), got {training.max_steps}")
    if data.task == "corpus" and training.max_steps < 1:
        raise ValueError(f"the corpus task draws random blocks for its steps: --max_steps must be >= 1, got "
                         f"{training.max_steps}")
    for name in ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps"):
        check_int(f"--{name}", getattr(training, name), 1)
    if not (math.isfinite(training.learning_rate) and training.learning_rate > 0):
        raise ValueError(f"--learning_rate must be a finite number > 0, got {training.learning_rate}")
    check_reporting(training.report_to)
    if data.task == "arithmetic":
        check_int("train_size", data.train_size, 1)
        if training.eval_strategy != "no":
            check_int("validation_size", data.validation_size, 1)
        names = parse_suite_names(run.suites)
        if "test" in names:
            check_int("test_size", data.test_size, 1)
        # the widest operand the model will take: the padding width, else the aligned tokenizer's columns
        if data.zero_pad:
            widest = data.max_digits
        elif spec.model.tokenizer == "aligned":
            widest = spec.model.tokenizer_max_digits or data.max_digits
        else:
            widest = MAX_OPERAND_DIGITS
        check_suites(names, data.operations, data.max_digits, widest, run.suite_size, run.cell_size)
    if run.data_cache_dir is not None and os.path.exists(run.data_cache_dir) and not os.path.isdir(
            run.data_cache_dir):
        raise ValueError(f"--data_cache_dir {run.data_cache_dir!r} exists and is not a folder")


__all__ = ["MEASURED_ALTERNATIVES", "DataArguments", "ModelArguments", "RunArguments", "TrainSpec", "parse_train_args"]
