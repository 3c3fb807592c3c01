"""`hf-arith train --preset calc`: a calculator of experts, each an ordinary run into its own subfolder, then a
calculator.json naming them in routing order with the operand length each was measured right on.

A step goes to the first expert that takes it (its operation, operands up to its limit): calc3 answers + - * / on
1-3 digits, add-length the longer sums. The limits are measured, not copied from the training range: an expert's
limit is its training range when every suite of that range scored at least MEASURED_RIGHT, extended to N for each
length_N / hard_N suite (in order) that did too. An expert not measured right is not put into a calculator.
"""

import argparse
import logging
import os

from huggingface_hub import ModelCard

from ..data.suites import length_of
from ..loading import CALCULATOR_FILE, check_writable
from .arguments import parse_train_args
from .artifacts import write_json
from .run import train

logger = logging.getLogger(__name__)
MEASURED_RIGHT = 0.999

# name -> (subfolder, training preset) in routing order
CALCULATOR_PRESETS = {
    "calc": (("calc3", "calc3"), ("add", "add-length")),
}


def measured_limit(evaluation: dict, trained_digits: int, threshold: float) -> tuple[int, list]:
    """(the longest operand the suites show right, the suites below `threshold`); 0 when a suite of the training
    range is below it."""
    longer = {}
    failed = []
    for name, metrics in evaluation.items():
        length = length_of(name) or length_of(name, "hard")
        if metrics["exact_match"] < threshold:
            failed.append(f"{name} {100 * metrics['exact_match']:.2f} %")
        if length is not None and length > trained_digits:
            longer.setdefault(length, []).append(metrics["exact_match"] >= threshold)
        elif metrics["exact_match"] < threshold:
            return 0, failed
    limit = trained_digits
    for length in sorted(longer):
        if not all(longer[length]):
            break
        limit = length
    return limit, failed


def train_calculator(name: str, argv: list[str]) -> dict:
    """Trains every expert of calculator preset `name` (the other flags apply to each) and writes calculator.json
    and a card into --output_dir. Returns calculator.json's content."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--output_dir", "--output-dir", required=True)
    parser.add_argument("--overwrite_output_dir", "--overwrite-output-dir", default="false")
    known, rest = parser.parse_known_args(argv)
    output_dir = known.output_dir
    overwrite = known.overwrite_output_dir.lower() in ("true", "1", "yes")
    if os.path.exists(os.path.join(output_dir, CALCULATOR_FILE)) and not overwrite:
        raise ValueError(f"output folder {output_dir!r} already holds a calculator ({CALCULATOR_FILE}); pass "
                         "--overwrite_output_dir true to replace it, or another --output_dir")
    specs = [(folder, parse_train_args(["--preset", preset, *rest, "--output_dir", os.path.join(output_dir, folder),
                                        "--overwrite_output_dir", str(overwrite).lower()]))
             for folder, preset in CALCULATOR_PRESETS[name]]  # every expert's settings checked before any trains
    os.makedirs(output_dir, exist_ok=True)
    check_writable(output_dir)
    experts, lines = [], []
    for folder, spec in specs:
        results = train(spec)
        limit, failed = measured_limit(results.evaluation, spec.data.max_digits, MEASURED_RIGHT)
        if not limit:
            raise ValueError(f"expert {folder!r} (preset {spec.run.preset}) is not right on its own training range "
                             f"({', '.join(failed)} below {100 * MEASURED_RIGHT:g} %): no calculator was written")
        experts.append({"folder": folder, "preset": spec.run.preset, "operations": spec.data.operations,
                        "max_digits": limit, "seed": spec.training.seed, "steps": results.global_step,
                        "train_runtime_s": results.train_runtime_s,
                        "suites": {n: m["exact_match"] for n, m in results.evaluation.items()}})
        lines.append(f"expert {folder}: {spec.data.operations} up to {limit} digits")
    calculator = {"calculator": name, "command": " ".join(["hf-arith", "train", "--preset", name, *argv]),
                  "measured_right": MEASURED_RIGHT, "experts": experts}
    write_json(os.path.join(output_dir, CALCULATOR_FILE), calculator)
    write_calculator_card(output_dir, calculator)
    for line in lines:
        logger.info(line)
    return calculator


def write_calculator_card(output_dir: str, calculator: dict) -> None:
    rows = "\n".join(
        f"| `{e['folder']}/` | `{e['preset']}` | `{e['operations']}` | **{e['max_digits']}** | {e['seed']} | "
        f"{e['steps']:,} | {e['train_runtime_s'] / 60:.1f} min | "
        + ", ".join(f"{n} {100 * v:.3f} %" for n, v in e["suites"].items()) + " |"
        for e in calculator["experts"])
    content = f"""---
library_name: transformers
tags: [hf_arith, arithmetic, calculator]
---

# hf_arith calculator `{calculator['calculator']}`

`{calculator['command']}` wrote this folder. Each subfolder is an ordinary hf_arith model (loads with
`AutoModelForCausalLM.from_pretrained(..., trust_remote_code=True)`); `calculator.json` lists them in routing order:
a step of an expression goes to the first model that takes its operation at its operands' length.

| expert | preset | operations | longest operand measured right | seed | steps | training | suites (exact match) |
|---|---|---|---|---|---|---|---|
{rows}

A limit is the expert's training range when every suite of that range scored at least
{100 * calculator['measured_right']:g} %, extended to each longer length suite it also passed. The calculator
refuses a longer operand in one line naming the limit, and checks every answer with its models (inverse operations
where a model has them, else a repeat).

```python
from hf_arith.calculator import Calculator

calculator = Calculator.from_pretrained("path/to/this/folder")  # hf_arith's own: hf_arith.loading.SHIPPED_CALCULATOR
print(calculator.run(["(999*999)+1"])[0].answer)               # 998002
```

or `hf-arith calc path/to/this/folder "(999*999)+1"` (`hf-arith calc "(999*999)+1"` for the one hf_arith ships).
"""
    ModelCard(content).save(os.path.join(output_dir, "README.md"))


__all__ = ["CALCULATOR_PRESETS", "MEASURED_RIGHT", "measured_limit", "train_calculator"]
