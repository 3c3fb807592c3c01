"""The benchmark suite: hf_arith vs the seeds' plain-PyTorch loop, in one process (see hf_arith/benchmark.py).

    python scripts/bench.py --output_dir outputs/bench [--baseline_budget_s 300] [--preset add3]

Writes bench.json and bench.md (a markdown table) to --output_dir and prints the table.
"""

import sys
from dataclasses import dataclass, field

from benchmarks import run_benchmarks
from transformers import HfArgumentParser


@dataclass
class BenchArguments:
    output_dir: str = field(default="outputs/bench", metadata={"help": "where bench.json and bench.md go"})
    preset: str = field(default="add3", metadata={"help": "training preset of the time-to-accuracy race"})
    target: float = field(default=0.995, metadata={"help": "held-out exact match both sides must reach"})
    baseline_budget_s: float = field(default=300.0, metadata={"help": "wall seconds the seeds' loop may train"})
    throughput_steps: int = field(default=100, metadata={"help": "optimizer steps of the throughput figures"})
    eval_problems: int = field(default=10_000, metadata={"help": "test problems of the evaluation-speed figures"})
    eval_batch_size: int = field(default=1000, metadata={"help": "batch size of the evaluation-speed figures"})


def main(argv=None) -> int:
    (args,) = HfArgumentParser(BenchArguments).parse_args_into_dataclasses(args=argv)
    try:
        report = run_benchmarks(**vars(args))
    except ValueError as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return 2
    from benchmarks import markdown_table

    print(markdown_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
