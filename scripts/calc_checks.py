"""What `hf-arith calc` answers once the model checks its own answers, against Python's integers.

For every problem of the suites: the model's own answer (what the calculator gave before checks, and what
`--no_check` gives), and what the calculator answers with checks and second looks: right (`right_after_look`: right
only after a second look), refused (no answer: no answer the model's check confirmed), or wrong (a wrong answer the
check confirmed). Per operation and per (operation, digits of a, digits of b) cell; `refused_right` counts answers
refused although the model's first answer was right.

    python scripts/calc_checks.py MODEL_DIR [--suites cells,division_cases] [--seed 7] [--looks 3] [--output F]
"""

import argparse
import json
import time
from collections import Counter, defaultdict

from hf_arith.calculator import DEFAULT_LOOKS, Calculator, _format
from hf_arith.data.suites import parse_suite_names, suite_problems
from hf_arith.loading import load_model_folder


def python_answer(a: int, op: str, b: int) -> str:
    if op == "/":
        return f"{a // b}r{a % b}"
    return str({"+": a + b, "-": a - b, "*": a * b}[op])


def tally(problems, results) -> dict:
    by_op, by_cell = defaultdict(Counter), defaultdict(Counter)
    examples = []
    for (op, a, b), result in zip(problems, results):
        expected = python_answer(a, op, b)
        step = result.steps[0]
        own = _format(step.value) if step.value is not None else None  # the model's answer, before its check
        looked = any(s.look_of is not None for s in result.steps)
        outcome = (("right_after_look" if looked else "right") if result.answer == expected
                   else "wrong" if result.answer is not None
                   else "refused_right" if own == expected else "refused_wrong" if result.refused else "no_answer")
        for counter in (by_op[op], by_cell[f"{op} {len(str(a))}x{len(str(b))}"]):
            counter["problems"] += 1
            counter["model_right"] += own == expected
            counter[outcome] += 1
        if outcome != "right" and len(examples) < 50:
            examples.append({"problem": f"{a}{op}{b}", "python": expected, "model": own, "calculator": result.answer,
                             "error": result.error})
    return {"by_operation": {k: dict(v) for k, v in by_op.items()},
            "by_cell": {k: dict(v) for k, v in sorted(by_cell.items())}, "examples": examples}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir")
    parser.add_argument("--suites", default="cells,division_cases")
    parser.add_argument("--seed", type=int, default=7, help="the suites' draw (the training run scored seed 0)")
    parser.add_argument("--cell_size", type=int, default=1000)
    parser.add_argument("--size", type=int, default=10_000, help="problems per operation of a drawn suite")
    parser.add_argument("--looks", type=int, default=DEFAULT_LOOKS, help="second looks per refuted answer")
    parser.add_argument("--batch_size", type=int, default=1000)
    parser.add_argument("--output")
    args = parser.parse_args()
    loaded = load_model_folder(args.model_dir)
    settings = loaded.settings
    calculator = Calculator(loaded.model, loaded.tokenizer, settings, args.batch_size, looks=args.looks)
    report = {"model_dir": args.model_dir, "seed": args.seed, "suites": {}}
    for name in parse_suite_names(args.suites):
        problems = suite_problems(name, settings["operations"], settings["max_digits"], args.size, args.seed,
                                  args.cell_size)
        start = time.perf_counter()
        results = calculator.run([f"{a}{op}{b}" for op, a, b in problems])
        report["suites"][name] = {"looks": args.looks, "seconds": round(time.perf_counter() - start, 1),
                                  **tally(problems, results)}
        print(f"{name}: {len(problems):,} problems in {report['suites'][name]['seconds']} s")
        for op, counts in report["suites"][name]["by_operation"].items():
            print(f"  {op} {counts}")
        worst = min(report["suites"][name]["by_cell"].items(), key=lambda kv: kv[1].get("model_right", 0)
                    / kv[1]["problems"])
        print(f"  worst cell for the model alone: {worst[0]} {worst[1]}")
        for example in report["suites"][name]["examples"][:10]:
            print(f"  {example}")
    if args.output:
        with open(args.output, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
