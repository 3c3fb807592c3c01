"""The settings that decide an arithmetic dataset, defined once: the `datasets` builder config and the training
arguments both inherit them (so one name means one thing from the command line to the cache key)."""

from dataclasses import dataclass, field, fields

from .distributions import DISTRIBUTIONS, Mixture, parse_weights
from .problems import HELD_OUT_CELL_SHARE, MAX_OPERAND_DIGITS, held_out_capacity, problem_space_size
from .traces import FORMATS, GUESS_LAYOUTS, OPERATIONS, PAD_TO_LONGER, check_format, division_layout


def check_int(name: str, value, minimum: int) -> None:
    """ValueError naming the value unless it is an int (not a bool) >= minimum."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")


@dataclass
class ArithmeticDataSettings:
    """What problems, in which format, how many, from which seed.

    Operand lengths are uniform in [min_digits, max_digits], then digits uniform (the `test` split); splits never
    share a problem and are drawn test -> validation -> train, each from its own seeded stream.
    """

    operations: str = field(default="+", metadata={"help": "operation characters to mix, e.g. '+' or '+-*/'"})
    min_digits: int = field(default=1, metadata={"help": "shortest operand length"})
    max_digits: int = field(default=3, metadata={"help": "longest operand length"})
    format: str = field(default="plain", metadata={"help": f"trace format, one of {', '.join(FORMATS)}"})
    zero_pad: bool = field(default=False, metadata={"help": "zero-pad operands and answer to max_digits"})
    pad_to_longer: bool = field(default=False, metadata={
        "help": "zero-pad each problem's operands to its longer operand and its answer to the width that implies "
                "(n + 1 digits for +): the published length-generalization layout"})
    train_size: int = field(default=100_000, metadata={"help": "distinct training problems"})
    validation_size: int = field(default=1_000, metadata={"help": "held-out problems checked during training"})
    test_size: int = field(default=1_000, metadata={"help": "held-out problems of the final `test` evaluation"})
    problem_seed: int = field(default=0, metadata={"help": "seed of the problem splits (not of the training run)"})
    train_mix: str = field(default="lengths", metadata={
        "help": "where training and validation problems come from, with weights: lengths (operand lengths uniform), "
                "values (operand values uniform), full_width, hard (long carries, borrows, ...), cases (for division: "
                "a = b, b = 1, remainder 0, remainder b - 1, a one-digit b, quotient digits 0 and 9 in equal shares; "
                "hard for the other operations); "
                "e.g. 'lengths:1,values:1,hard:0.5'"})
    operation_weights: str = field(default="", metadata={
        "help": "relative frequency of each operation in training and validation, e.g. '+:1,-:2,*:2,/:4' "
                "(empty: equal)"})
    division_guess_noise: float = field(default=0.0, metadata={
        "help": "cot_div_check and cot_div_check_aligned only: the share of training division steps whose written "
                "quotient-digit guess is one off (half too large, half too small, where 0..9 allows), so the traces "
                "show the check correcting it; validation and test traces always guess right"})

    def validate(self) -> None:
        """Raises ValueError naming the bad value; checks the sizes against the problem space before any work."""
        if (not isinstance(self.operations, str) or not self.operations
                or any(op not in OPERATIONS for op in self.operations)
                or len(set(self.operations)) != len(self.operations)):
            raise ValueError(f"operations must be distinct characters from {''.join(OPERATIONS)!r}, "
                             f"got {self.operations!r}")
        for name in ("min_digits", "max_digits"):
            check_int(name, getattr(self, name), 1)
        if self.max_digits > MAX_OPERAND_DIGITS:
            raise ValueError(f"max_digits must be at most {MAX_OPERAND_DIGITS:,}, got {self.max_digits:,}")
        if self.min_digits > self.max_digits:
            raise ValueError(f"min_digits ({self.min_digits}) must not exceed max_digits ({self.max_digits})")
        if self.format not in FORMATS:
            raise ValueError(f"unknown format {self.format!r}; expected one of {FORMATS}")
        for op in self.operations:
            check_format(self.format, op)
        for name in ("zero_pad", "pad_to_longer"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")
        if self.zero_pad and self.pad_to_longer:
            raise ValueError("zero_pad (every problem to max_digits) and pad_to_longer (each problem to its longer "
                             "operand) exclude each other: set one")
        for name in ("train_size", "validation_size", "test_size", "problem_seed"):
            check_int(name, getattr(self, name), 0)
        noise = self.division_guess_noise
        if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise <= 1:
            raise ValueError(f"division_guess_noise must be a number in [0, 1], got {noise!r}")
        if noise and ("/" not in self.operations or not self.format.startswith("cot")
                      or division_layout(self.format) not in GUESS_LAYOUTS):
            raise ValueError(f"division_guess_noise={noise!r} needs division in a check layout (format "
                             f"cot_div_check or cot_div_check_aligned), got operations={self.operations!r}, "
                             f"format={self.format!r}")
        self.train_sampler()  # parses train_mix and operation_weights: ValueError naming a bad entry
        space = problem_space_size(self.operations, self.min_digits, self.max_digits)
        total = self.train_size + self.validation_size + self.test_size
        if total > space:
            raise ValueError(f"train_size + validation_size + test_size = {total} distinct problems, but only {space} "
                             f"exist for operations={self.operations!r} with {self.min_digits}-{self.max_digits} "
                             "digits")
        capacity = held_out_capacity(self.operations, self.min_digits, self.max_digits)
        if self.validation_size + self.test_size > capacity:
            raise ValueError(f"validation_size + test_size = {self.validation_size + self.test_size}, but held-out "
                             f"splits may take only {capacity} problems ({HELD_OUT_CELL_SHARE:.0%} of each "
                             f"operand-length cell) for operations={self.operations!r} with "
                             f"{self.min_digits}-{self.max_digits} digits")

    @classmethod
    def from_saved(cls, saved: dict) -> "ArithmeticDataSettings":
        """The settings inside a model's config.arith_data (which also records the task, tokenizer and model)."""
        return cls(**{name: saved[name] for name in SETTING_NAMES if name in saved})

    def train_sampler(self) -> Mixture:
        """The sampler of training and validation problems (the test split keeps uniform operand lengths)."""
        if not isinstance(self.train_mix, str) or not isinstance(self.operation_weights, str):
            raise ValueError(f"train_mix and operation_weights must be strings, got {self.train_mix!r} and "
                             f"{self.operation_weights!r}")
        weights = parse_weights(self.train_mix, DISTRIBUTIONS, "train_mix")
        operation_weights = (parse_weights(self.operation_weights, self.operations, "operation_weights")
                             if self.operation_weights else None)
        return Mixture(self.operations, self.min_digits, self.max_digits, weights, operation_weights)

    @property
    def pad_width(self) -> int | str | None:
        """What make_trace takes: max_digits (zero_pad), "longer" (pad_to_longer) or None."""
        if self.zero_pad:
            return self.max_digits
        return PAD_TO_LONGER if self.pad_to_longer else None

    @property
    def split_sizes(self) -> dict[str, int]:
        return {"train": self.train_size, "validation": self.validation_size, "test": self.test_size}

    def data_settings(self) -> dict:
        """The fields that decide the data, as a plain dict (saved in a model's config as `arith_data`)."""
        return {f.name: getattr(self, f.name) for f in fields(ArithmeticDataSettings)}


SETTING_NAMES = tuple(f.name for f in fields(ArithmeticDataSettings))

__all__ = ["ArithmeticDataSettings", "SETTING_NAMES", "check_int"]
