"""What a calculator costs: answers per second on long problems of each operation (checks on, as `hf-arith calc`
runs), and the memory the process takes.

    python scripts/calc_cost.py [FOLDER] [--problems 200] [--seed 0]     (no folder: the shipped calculator)

Each problem set is answered in one `Calculator.run` (one batched generation per round, as a file on stdin is);
every answer is compared with Python's.
"""

import argparse
import random
import resource
import sys
import time

from hf_arith.calculator import Calculator, exact_value, parse_expression
from hf_arith.loading import SHIPPED_CALCULATOR


def problems(rng: random.Random, op: str, digits_a: int, digits_b: int, n: int) -> list[str]:
    def number(d):
        return rng.randrange(10 ** (d - 1), 10**d)

    return [f"{number(digits_a)}{op}{number(digits_b)}" for _ in range(n)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", default=None)
    parser.add_argument("--problems", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.problems < 1:
        print(f"calc_cost.py: error: --problems must be >= 1, got {args.problems}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    calculator = Calculator.from_pretrained(args.folder or SHIPPED_CALCULATOR)
    print(f"loaded in {time.perf_counter() - start:.1f} s; {calculator.operations!r}, limits "
          + ", ".join(f"{op} {calculator.skills.limit(op)}" for op in calculator.operations))
    rng = random.Random(args.seed)
    sets = [("+", calculator.skills.limit("+"), calculator.skills.limit("+"))]
    if calculator.skills.limit("+") >= 100:
        sets.append(("+", 100, 100))
    sets += [(op, calculator.skills.limit(op), calculator.skills.limit(op)) for op in "-*/"
             if op in calculator.operations]
    for op, da, db in sets:
        texts = problems(rng, op, da, db, args.problems)
        start = time.perf_counter()
        results = calculator.run(texts)
        seconds = time.perf_counter() - start
        right = sum(r.answer is not None and r.answer == _python(t) for t, r in zip(texts, results))
        unanswered = sum(r.answer is None for r in results)
        print(f"{op} {da} x {db} digits: {len(texts) / seconds:.1f} answers/s ({seconds:.1f} s for {len(texts)}); "
              f"{right} right, {len(texts) - right - unanswered} wrong, {unanswered} unanswered")
    print(f"peak memory (max RSS) {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


def _python(text: str) -> str:
    value = exact_value(parse_expression(text))
    return f"{value[0]}r{value[1]}" if isinstance(value, tuple) else str(value)


if __name__ == "__main__":
    sys.exit(main())
