"""Held-out exact match vs training time for several finished runs, in one plot.

    python scripts/plot_runs.py outputs/mul3-plain outputs/mul3-reverse_cot ... --output accuracy_vs_time.png
"""

import sys
from dataclasses import dataclass, field

from transformers import HfArgumentParser

from hf_arith.evaluation.plots import save_accuracy_vs_time


@dataclass
class PlotArguments:
    run_dirs: list[str] = field(metadata={"help": "finished hf-arith train output folders"})
    output: str = field(default="accuracy_vs_time.png", metadata={"help": "PNG to write"})
    title: str = field(default="validation exact match vs training time", metadata={"help": "plot title"})


def main(argv=None) -> int:
    (args,) = HfArgumentParser(PlotArguments).parse_args_into_dataclasses(args=argv)
    try:
        save_accuracy_vs_time(args.run_dirs, args.output, args.title)
    except ValueError as error:
        print(f"plot_runs: error: {error}", file=sys.stderr)
        return 2
    print(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
