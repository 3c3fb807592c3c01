"""ArithmeticTraces: a `datasets` builder for arithmetic traces, its presets, and a stream of fresh problems.

datasets 5 has no loading scripts, so the builder is used as a class:

    builder = ArithmeticTraces(config_name="add3")                    # a preset
    builder = ArithmeticTraces(config_name="mul3-sum_cot", train_size=50_000, seed=1)  # a preset, overridden
    builder.download_and_prepare()
    dataset = builder.as_dataset()  # DatasetDict: train / validation / test

or in one call: `load_arithmetic_traces("add3", train_size=1000)`.
"""

import hashlib
import itertools
from dataclasses import dataclass
from pathlib import Path

import datasets
import pyarrow as pa

from . import problems as problems_module
from . import traces as traces_module
from .problems import HELD_OUT_CELL_SHARE, fresh_problems, held_out_capacity, problem_space_size, split_problems
from .traces import FORMATS, OPERATIONS, answer_string, check_format, make_trace

SPLITS = ("train", "validation", "test")
FEATURE_NAMES = ("prompt", "completion", "op", "a", "b", "answer")  # operands and answer as strings: beyond int64


def _code_fingerprint() -> str:
    # The datasets cache is keyed by config, not by code: hashing the modules that decide the examples into the
    # builder's `hash` puts data from changed code in a new cache folder instead of serving the stale one.
    sources = [Path(module.__file__).read_bytes() for module in (traces_module, problems_module)]
    sources.append(Path(__file__).read_bytes())
    return hashlib.sha256(b"\0".join(sources)).hexdigest()[:16]


@dataclass
class ArithmeticTracesConfig(datasets.BuilderConfig):
    """What problems, in which format, how many, from which seed.

    Args:
        operations: the operation characters to mix, e.g. "+" or "+-*/" (the calculator).
        min_digits, max_digits: each operand's length is uniform in this range, then its digits are uniform.
        format: one of hf_arith.data.traces.FORMATS; sum_cot and reverse_sum_cot exist for "*" only.
        zero_pad: pad operands (and the answer) with zeros to a fixed width set by max_digits.
        train_size, validation_size, test_size: distinct problems per split; splits never share a problem.
        seed: the only source of randomness.
    """

    operations: str = "+"
    min_digits: int = 1
    max_digits: int = 3
    format: str = "plain"
    zero_pad: bool = False
    train_size: int = 100_000
    validation_size: int = 1_000
    test_size: int = 1_000
    seed: int = 0

    def __post_init__(self):
        super().__post_init__()
        self.validate()

    def validate(self):
        if not isinstance(self.operations, str) or not self.operations or any(
                op not in OPERATIONS for op in self.operations) or len(set(self.operations)) != len(self.operations):
            raise ValueError(f"operations must be distinct characters from {''.join(OPERATIONS)!r}, "
                             f"got {self.operations!r}")
        for name in ("min_digits", "max_digits"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.min_digits > self.max_digits:
            raise ValueError(f"min_digits ({self.min_digits}) must not exceed max_digits ({self.max_digits})")
        if self.format not in FORMATS:
            raise ValueError(f"unknown format {self.format!r}; expected one of {FORMATS}")
        for op in self.operations:
            check_format(self.format, op)
        if not isinstance(self.zero_pad, bool):
            raise ValueError(f"zero_pad must be a bool, got {self.zero_pad!r}")
        for name in ("train_size", "validation_size", "test_size", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an int >= 0, got {value!r}")
        space = problem_space_size(self.operations, self.min_digits, self.max_digits)
        total = self.train_size + self.validation_size + self.test_size
        if total > space:
            raise ValueError(
                f"train_size + validation_size + test_size = {total} distinct problems, but only {space} exist for "
                f"operations={self.operations!r} with {self.min_digits}-{self.max_digits} digits"
            )
        capacity = held_out_capacity(self.operations, self.min_digits, self.max_digits)
        if self.validation_size + self.test_size > capacity:
            raise ValueError(
                f"validation_size + test_size = {self.validation_size + self.test_size}, but held-out splits may take "
                f"only {capacity} problems ({HELD_OUT_CELL_SHARE:.0%} of each operand-length cell) for "
                f"operations={self.operations!r} with {self.min_digits}-{self.max_digits} digits"
            )

    @property
    def pad_width(self) -> int | None:
        return self.max_digits if self.zero_pad else None

    @property
    def split_sizes(self) -> dict[str, int]:
        return {"train": self.train_size, "validation": self.validation_size, "test": self.test_size}

    def data_settings(self) -> dict:
        """The fields that decide the data (for model cards and presets)."""
        return {name: getattr(self, name) for name in ("operations", "min_digits", "max_digits", "format",
                                                       "zero_pad", "train_size", "validation_size", "test_size",
                                                       "seed")}


def _preset(name, description, **settings) -> ArithmeticTracesConfig:
    return ArithmeticTracesConfig(name=name, description=description, **settings)


MUL_FORMATS = ("plain", "reverse_cot", "sum_cot", "reverse_sum_cot")
PRESETS: dict[str, ArithmeticTracesConfig] = {
    config.name: config
    for config in [
        _preset("add3", "3-digit addition, reversed answers (seed 001's task)", operations="+", max_digits=3,
                format="reversed", train_size=200_000, validation_size=2_000, test_size=10_000),
        _preset("add9", "9-digit addition (seed 003's task)", operations="+", max_digits=9, format="reversed",
                train_size=1_000_000, validation_size=2_000, test_size=10_000),
        _preset("calc3", "3-digit calculator: + - * / in one model", operations="+-*/", max_digits=3,
                format="cot", train_size=400_000, validation_size=2_000, test_size=10_000),
        *[_preset(f"mul{d}-{fmt}", f"{d}-digit multiplication, {fmt} format (seed 000)", operations="*",
                  min_digits=1, max_digits=d, format=fmt, train_size=200_000 if d == 3 else 1_000_000,
                  validation_size=2_000, test_size=10_000)
          for d in (3, 6) for fmt in MUL_FORMATS],
    ]
}


class ArithmeticTraces(datasets.ArrowBasedBuilder):
    """Arithmetic problems as (prompt, completion) traces, with disjoint train/validation/test splits.

    An ArrowBasedBuilder rather than a GeneratorBasedBuilder: it hands datasets whole tables of 100k rows, where
    per-example writing spent 41 of 58 s on a million examples.
    """

    BUILDER_CONFIG_CLASS = ArithmeticTracesConfig
    BUILDER_CONFIGS = list(PRESETS.values())
    DEFAULT_CONFIG_NAME = "add3"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("hash", _code_fingerprint())
        kwargs.setdefault("dataset_name", "arithmetic_traces")
        super().__init__(*args, **kwargs)
        # datasets applies overrides with setattr on a copy of the preset, bypassing __post_init__.
        self.config.validate()

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description="Arithmetic traces generated by hf_arith",
            features=datasets.Features({name: datasets.Value("string") for name in FEATURE_NAMES}),
        )

    def _split_generators(self, dl_manager):
        # One call for all splits: they are drawn together so that they cannot overlap.
        config = self.config
        self._splits = split_problems(config.operations, config.min_digits, config.max_digits, config.split_sizes,
                                      config.seed)
        names = {"train": datasets.Split.TRAIN, "validation": datasets.Split.VALIDATION, "test": datasets.Split.TEST}
        return [datasets.SplitGenerator(name=names[split], gen_kwargs={"split": split})
                for split in SPLITS if config.split_sizes[split] > 0]  # datasets cannot read back an empty split

    def _generate_tables(self, split, chunk_size: int = 100_000):
        fmt, pad = self.config.format, self.config.pad_width
        problems = self._splits[split]
        for start in range(0, len(problems), chunk_size):
            rows = [example_for(op, a, b, fmt, pad) for op, a, b in problems[start : start + chunk_size]]
            yield start, pa.table({name: [row[name] for row in rows] for name in FEATURE_NAMES})


def example_for(op: str, a: int, b: int, fmt: str, pad_width: int | None) -> dict[str, str]:
    prompt, completion = make_trace(a, op, b, fmt, pad_width)
    return {"prompt": prompt, "completion": completion, "op": op, "a": str(a), "b": str(b),
            "answer": answer_string(a, op, b)}


def get_config(name: str = "add3", **overrides) -> ArithmeticTracesConfig:
    """A preset's config with fields overridden; raises ValueError for an unknown preset or a bad value."""
    if name not in PRESETS:
        raise ValueError(f"unknown data preset {name!r}; expected one of {sorted(PRESETS)}")
    unknown = set(overrides) - set(PRESETS[name].data_settings())
    if unknown:
        raise ValueError(f"unknown data settings {sorted(unknown)}")
    settings = {**PRESETS[name].data_settings(), **overrides}
    return ArithmeticTracesConfig(name=name, description=PRESETS[name].description, **settings)


def load_arithmetic_traces(name: str = "add3", cache_dir: str | None = None, **overrides) -> datasets.DatasetDict:
    """Builds (or reuses from the cache) a preset, with overrides, and returns its DatasetDict."""
    get_config(name, **overrides)  # bad values fail here, before anything is generated or cached
    builder = ArithmeticTraces(config_name=name, cache_dir=cache_dir, **overrides)
    builder.download_and_prepare()
    return builder.as_dataset()


def training_stream(config: ArithmeticTracesConfig, seed: int | None = None):
    """Endless fresh training examples (seed 001 style) that never repeat a validation or test problem."""
    held_out = split_problems(config.operations, config.min_digits, config.max_digits,
                              {"test": config.test_size, "validation": config.validation_size}, config.seed)
    exclude = set(itertools.chain(held_out["test"], held_out["validation"]))
    for op, a, b in fresh_problems(config.operations, config.min_digits, config.max_digits, exclude,
                                   config.seed if seed is None else seed):
        yield example_for(op, a, b, config.format, config.pad_width)


__all__ = ["PRESETS", "ArithmeticTraces", "ArithmeticTracesConfig", "get_config", "load_arithmetic_traces",
           "training_stream"]
