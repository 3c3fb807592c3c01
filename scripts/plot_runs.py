"""Several finished runs in one plot: held-out exact match against training time, or (--lengths) exact match against
operand length from each folder's recorded length_N suites (`hf-arith eval MODEL --lengths ...`).

    python scripts/plot_runs.py --run_dirs outputs/mul3-plain outputs/mul3-reverse_cot ... --output accuracy_vs_time.png
    python scripts/plot_runs.py --lengths true --run_dirs outputs/add-length outputs/len-rope-plain --labels "coupled
        RoPE" "RoPE" --output length_schemes.png
"""

import json
import os
import sys
from dataclasses import dataclass, field

from transformers import HfArgumentParser

from hf_arith.data.suites import length_of
from hf_arith.evaluation.plots import save_accuracy_vs_length, save_accuracy_vs_time


@dataclass
class PlotArguments:
    run_dirs: list[str] = field(metadata={"help": "finished hf-arith train output folders"})
    output: str = field(default="accuracy_vs_time.png", metadata={"help": "PNG to write"})
    title: str = field(default=None, metadata={"help": "plot title"})
    lengths: bool = field(default=False, metadata={"help": "exact match against operand length instead of time"})
    labels: list[str] = field(default=None, metadata={"help": "one curve label per folder (default: folder names)"})


def length_curves(run_dirs: list[str], labels: list[str]) -> tuple[dict, tuple[int, int]]:
    curves, ranges = {}, set()
    for run_dir, label in zip(run_dirs, labels):
        path = os.path.join(run_dir, "all_results.json")
        if not os.path.isfile(path):
            raise ValueError(f"{run_dir!r} is not a finished hf_arith run (no all_results.json)")
        with open(path) as f:
            results = json.load(f)
        points = {length_of(name): m["exact_match"] for name, m in results.get("evaluation", {}).items()
                  if length_of(name) is not None}
        if not points:
            raise ValueError(f"{run_dir!r} has no length_N results: run hf-arith eval {run_dir} --lengths ...")
        curves[label] = points
        with open(os.path.join(run_dir, "config.json")) as f:
            data = json.load(f)["arith_data"]
        ranges.add((data["min_digits"], data["max_digits"]))
    if len(ranges) != 1:
        raise ValueError(f"the runs were trained on different lengths {sorted(ranges)}: one shaded range per plot")
    return curves, ranges.pop()


def main(argv=None) -> int:
    (args,) = HfArgumentParser(PlotArguments).parse_args_into_dataclasses(args=argv)
    try:
        labels = args.labels or [os.path.basename(os.path.normpath(d)) for d in args.run_dirs]
        if len(labels) != len(args.run_dirs):
            raise ValueError(f"{len(labels)} labels for {len(args.run_dirs)} folders")
        if args.lengths:
            curves, train_range = length_curves(args.run_dirs, labels)
            save_accuracy_vs_length(curves, args.output, train_range,
                                    args.title or "exact match on full-width problems by operand length")
        else:  # --labels name the curves here too (never dropped silently)
            save_accuracy_vs_time(args.run_dirs, args.output, args.title or "validation exact match vs training time",
                                  labels)
    except ValueError as error:
        print(f"plot_runs: error: {error}", file=sys.stderr)
        return 2
    print(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
