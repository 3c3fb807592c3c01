"""The fair race: hf_arith against the seeds' loop and a fair plain PyTorch loop (see scripts/benchmarks.py).

    python scripts/bench.py --output_dir outputs/bench [--seeds 0,1,2] [--target 0.999] [--seeds_budget_s 300]

Every contestant trains on 3-digit addition until greedy generation is right on at least `target` of BOTH check
sets (1,000 full-width problems and 1,000 with uniform operand lengths, held out from all training), checked every
50 steps with the checking time off every clock. Writes bench.json and bench.md (tables) to --output_dir.
"""

import json
import os
import statistics
import sys
import tempfile
from dataclasses import asdict, dataclass, field

import torch
from benchmarks import check_sets, fair_data, fair_loop, hf_arith_run, machine_line, seeds_loop
from transformers import HfArgumentParser

from hf_arith import AlignedPairTokenizer, CharTokenizer

CONTESTANTS = ("seeds_loop", "fair_chars", "fair_pairs", "hf_arith")


@dataclass
class BenchArguments:
    output_dir: str = field(default="outputs/bench", metadata={"help": "where bench.json and bench.md go"})
    seeds: str = field(default="0,1,2", metadata={"help": "training seeds (each contestant runs once per seed)"})
    target: float = field(default=0.999, metadata={"help": "exact match both check sets must reach"})
    seeds_budget_s: float = field(default=300.0, metadata={
        "help": "training seconds the seeds' loop may use (it is reported as not reached after that)"})
    fair_budget_s: float = field(default=600.0, metadata={"help": "training seconds a fair loop may use"})
    check_every: int = field(default=50, metadata={"help": "optimizer steps between checks"})
    contestants: str = field(default=",".join(CONTESTANTS), metadata={"help": "which to run"})


def run(args: BenchArguments) -> dict:
    seeds = [int(s) for s in args.seeds.split(",")]
    contestants = [c for c in args.contestants.split(",") if c]
    unknown = set(contestants) - set(CONTESTANTS)
    if unknown or not seeds or not 0 < args.target <= 1:
        raise ValueError(f"bad contestants {sorted(unknown)}, seeds {args.seeds!r} or target {args.target}")
    os.makedirs(args.output_dir, exist_ok=True)
    report = {"machine": machine_line(), "torch_threads": torch.get_num_threads(), "settings": asdict(args),
              "races": {name: [] for name in contestants}}
    with tempfile.TemporaryDirectory() as workdir:
        cache = os.path.join(workdir, "cache")
        checks = check_sets(cache)
        train_problems = fair_data(cache)
        for seed in seeds:
            for name in contestants:
                if name == "seeds_loop":
                    race = seeds_loop(seed, checks, args.target, args.seeds_budget_s, args.check_every)
                elif name == "fair_chars":
                    race = fair_loop(name, CharTokenizer(), train_problems, checks, seed, args.target,
                                     check_every=args.check_every, budget_s=args.fair_budget_s)
                elif name == "fair_pairs":
                    race = fair_loop(name, AlignedPairTokenizer(max_digits=3), train_problems, checks, seed,
                                     args.target, check_every=args.check_every, budget_s=args.fair_budget_s)
                else:
                    race = hf_arith_run(seed, checks, args.target, workdir, cache, args.check_every)
                report["races"][name].append({"seed": seed, **asdict(race)})
                print(f"seed {seed} {name}: {summary(asdict(race), args.target)}", flush=True)
    with open(os.path.join(args.output_dir, "bench.json"), "w") as f:
        json.dump(report, f, indent=1)
    with open(os.path.join(args.output_dir, "bench.md"), "w") as f:
        f.write(markdown(report))
    return report


def summary(race: dict, target: float) -> str:
    times = ", ".join(f"{name} {race['seconds_to'][name]:.1f} s" if name in race["seconds_to"]
                      else f"{name} not reached" for name in ("full_width", "easy"))
    return (f"{race['steps']} steps, {race['train_seconds']:.1f} s training (+{race['check_seconds']:.1f} s "
            f"checking, not counted); time to {100 * target:.1f} %: {times}")


def time_to(races: list[dict], check: str) -> tuple[list[float], bool]:
    """Seconds to target per seed; a seed that never reached it counts its whole training time (a lower bound)."""
    seconds = [r["seconds_to"].get(check, r["train_seconds"]) for r in races]
    return seconds, all(check in r["seconds_to"] for r in races)


def markdown(report: dict) -> str:
    target = report["settings"]["target"]
    races = report["races"]
    lines = [f"Machine: {report['machine']}", "",
             f"Time to {100 * target:.1f} % exact match by greedy generation (training seconds, checks excluded; "
             f"mean over seeds, then each seed):", "",
             "| contestant | full_width check set | easy check set | steps | examples/s |", "|---|---|---|---|---|"]
    means = {}
    for name, runs in races.items():
        cells = []
        for check in ("full_width", "easy"):
            seconds, reached = time_to(runs, check)
            means[name, check] = (statistics.mean(seconds), reached)
            cells.append(f"{'' if reached else '> '}{statistics.mean(seconds):.1f} s ("
                         + ", ".join(f"{s:.1f}" for s in seconds) + ")" + ("" if reached else ", not reached"))
        throughput = statistics.mean(r["steps"] * 256 / r["train_seconds"] for r in runs)
        lines.append(f"| {name} | {cells[0]} | {cells[1]} | {', '.join(str(r['steps']) for r in runs)} | "
                     f"{throughput:,.0f} |")
    lines += ["", "Ratios of the mean times (> : the slower side never reached the target, so the ratio is at least "
              "this):", "", "| comparison | full_width | easy | what it measures |", "|---|---|---|---|"]
    for slow, fast, meaning in (("seeds_loop", "hf_arith", "everything: recipe, format, tokenizer, loop"),
                                ("seeds_loop", "fair_chars", "the seeds' recipe and format vs a fair loop on "
                                                             "zero-padded characters"),
                                ("fair_chars", "fair_pairs", "the aligned digit-pair tokenizer"),
                                ("fair_pairs", "hf_arith", "the Trainer and the library (>1: hf_arith is faster)")):
        if (slow, "full_width") not in means or (fast, "full_width") not in means:
            continue
        cells = []
        for check in ("full_width", "easy"):
            (slow_s, slow_reached), (fast_s, fast_reached) = means[slow, check], means[fast, check]
            prefix = "" if slow_reached else "> "
            cells.append(f"{prefix}{slow_s / fast_s:.2f}x" if fast_reached else "n/a")
        lines.append(f"| {slow} / {fast} | {cells[0]} | {cells[1]} | {meaning} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    (args,) = HfArgumentParser(BenchArguments).parse_args_into_dataclasses(args=argv)
    try:
        report = run(args)
    except ValueError as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return 2
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
