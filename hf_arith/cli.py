"""`hf-arith`: train, eval, calc and sample from the command line.

    hf-arith train [--preset add3] [--config args.yaml] [any Model/Data/Run/TrainingArguments flag]
    hf-arith eval MODEL_DIR
    hf-arith calc MODEL_DIR 123+456 7*8        (or one problem per line on stdin)
    hf-arith sample MODEL_DIR --prompt "O God, O God!" --max_new_tokens 200 --temperature 0.8 --top_k 40 --seed 0

Bad input gives one line on stderr and exit code 2, before any output is written. A problem the model does not
finish prints `?` (the reason on stderr) and the exit code is 1, after every other answer is printed.
"""

import argparse
import logging
import re
import sys

# Library imports happen inside the commands: `hf-arith --help` and a bad flag answer at once, without the ~6 s
# of importing torch, transformers and datasets.
PROBLEM = re.compile(r"\s*(\d+)\s*([+\-*/])\s*(\d+)\s*=?\s*")


class UsageError(Exception):
    pass


class OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{self.prog}: error: {message}")


def _load(model_dir: str, arithmetic: bool = True):
    from transformers.utils import logging as hf_logging

    from hf_arith.loading import load_model_folder

    hf_logging.disable_progress_bar()  # calc/eval/sample output stays clean
    loaded = load_model_folder(model_dir)
    if arithmetic and not loaded.is_arithmetic:
        raise UsageError(f"{model_dir!r} holds no arithmetic data settings (config.arith_data); was it trained by "
                         "hf-arith train on an arithmetic preset?")
    return loaded


def parse_problem(text: str, max_digits: int) -> tuple[int, str, int]:
    match = PROBLEM.fullmatch(text)
    if not match:
        raise UsageError(f"malformed problem {text.strip()!r} (expected e.g. 123+456)")
    a, op, b = match.groups()
    if op == "/" and int(b) == 0:
        raise UsageError(f"division by zero in {text.strip()!r}")
    if max(len(a.lstrip("0") or "0"), len(b.lstrip("0") or "0")) > max_digits:
        raise UsageError(f"problem {text.strip()!r} has an operand longer than this model's {max_digits} digits")
    return int(a), op, int(b)


def cmd_calc(argv):
    parser = OneLineParser(prog="hf-arith calc", description="answer arithmetic problems with a trained model")
    parser.add_argument("model_dir")
    parser.add_argument("problems", nargs="*", help="e.g. 123+456; none: read one per line from stdin")
    parser.add_argument("--answer-only", action="store_true", help="print only the answers")
    parser.add_argument("--trace", action="store_true", help="also print the generated trace and its verdict")
    parser.add_argument("--batch_size", type=int, default=1000)
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        raise UsageError(f"hf-arith calc: error: --batch_size must be >= 1, got {args.batch_size}")
    texts = args.problems or [line for line in sys.stdin.read().splitlines() if line.strip()]
    if not texts:
        raise UsageError("hf-arith calc: error: no problems given (arguments or stdin)")
    loaded = _load(args.model_dir)
    settings = loaded.settings
    pad = settings["max_digits"] if settings.get("zero_pad") else None
    max_digits = min(getattr(loaded.tokenizer, "max_digits", None) or settings["max_digits"],
                     pad or settings["max_digits"])
    problems = [parse_problem(t, max_digits) for t in texts]  # all checked before anything is printed

    from hf_arith.batching import encode
    from hf_arith.data.traces import make_trace, read_answer
    from hf_arith.data.verify import verify_trace
    from hf_arith.evaluation.generation import generate_completions

    fmt = settings["format"]
    traces = [make_trace(a, op, b, fmt, pad) for a, op, b in problems]
    # Each problem may generate exactly its own trace's length plus EOS: past that it is wrong whatever follows.
    budgets = [len(encode(loaded.tokenizer, completion)) + 1 for _, completion in traces]
    completions = generate_completions(loaded.model, loaded.tokenizer, [p for p, _ in traces], budgets,
                                       args.batch_size)
    failed = 0
    for (a, op, b), (prompt, _), completion in zip(problems, traces, completions):
        answer = read_answer(completion.text, op, fmt) if completion.finished else None
        if answer is None:
            failed += 1
            print(f"hf-arith calc: {a}{op}{b}: " + (completion.reason or f"no answer in {completion.text!r}"),
                  file=sys.stderr)
        print((answer or "?") if args.answer_only else f"{a}{op}{b} {answer or '?'}")
        if args.trace:
            verdict = verify_trace(prompt, completion.text, fmt)
            status = "valid" if verdict.valid else f"first wrong step {verdict.first_error_step}"
            print(f"  trace {prompt}{completion.text}  [{verdict.format}: {status}]")
    return 1 if failed else 0


def cmd_eval(argv):
    parser = OneLineParser(prog="hf-arith eval", description="greedy-generation evaluation on the test split")
    parser.add_argument("model_dir")
    parser.add_argument("--split", default="test", choices=["test", "validation"])
    parser.add_argument("--batch_size", type=int, default=1000)
    parser.add_argument("--heatmap", default=None, help="PNG path (default: MODEL_DIR/heatmap.png for the test split)")
    parser.add_argument("--data_cache_dir", default=None)
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        raise UsageError(f"hf-arith eval: error: --batch_size must be >= 1, got {args.batch_size}")
    loaded = _load(args.model_dir)

    from hf_arith.data.builder import load_traces
    from hf_arith.data.settings import SETTING_NAMES, ArithmeticDataSettings
    from hf_arith.evaluation.plots import save_heatmap
    from hf_arith.evaluation.scoring import dataset_problems, evaluate_problems, format_examples

    settings = ArithmeticDataSettings(**{k: v for k, v in loaded.settings.items() if k in SETTING_NAMES})
    dataset = load_traces(settings, args.data_cache_dir)[args.split]
    m = evaluate_problems(loaded.model, loaded.tokenizer, dataset_problems(dataset), settings.format,
                          settings.pad_width, batch_size=args.batch_size)
    print(f"{args.split}: {m['num_problems']} problems in {m['seconds']:.1f} s ({m['problems_per_s']:.0f} problems/s)")
    for key in ("exact_match", "answer_exact_match", "char_accuracy", "verified_answer_correct",
                "verified_trace_valid"):
        print(f"  {key:24s} {100 * m[key]:6.2f} %")
    print("  by digits (a x b):", ", ".join(f"{k} {100 * v:.1f}%" for k, v in m["by_digits"].items()))
    print("  by operation:", ", ".join(f"{op} {100 * v:.2f}%" for op, v in m["by_operation"].items()))
    if m["first_error_step_counts"]:
        print("  first wrong step (count):", m["first_error_step_counts"])
    print(format_examples(m))
    heatmap = args.heatmap or f"{args.model_dir}/heatmap.png"
    save_heatmap(m["by_digits"], heatmap, f"{args.split} exact match by operand lengths")
    print(f"heatmap: {heatmap}")
    return 1 if m["unfinished"] else 0


def cmd_sample(argv):
    parser = OneLineParser(prog="hf-arith sample", description="sample text with top-k / top-p / temperature")
    parser.add_argument("model_dir")
    parser.add_argument("--prompt", default="\n")
    parser.add_argument("--max_new_tokens", type=int, default=200)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--top_k", type=int, default=None)
    parser.add_argument("--top_p", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not 0 < args.temperature < float("inf"):
        raise UsageError(f"hf-arith sample: error: temperature must be a finite number > 0, got {args.temperature}")
    if args.top_p is not None and not 0 < args.top_p <= 1:
        raise UsageError(f"hf-arith sample: error: top_p must be in (0, 1], got {args.top_p}")
    if args.top_k is not None and args.top_k < 1:
        raise UsageError(f"hf-arith sample: error: top_k must be >= 1, got {args.top_k}")
    if args.max_new_tokens <= 0:
        raise UsageError(f"hf-arith sample: error: max_new_tokens must be > 0, got {args.max_new_tokens}")
    loaded = _load(args.model_dir, arithmetic=False)

    from hf_arith.evaluation.generation import sample_text

    text = sample_text(loaded.model, loaded.tokenizer, args.prompt, args.max_new_tokens, args.seed,
                       temperature=args.temperature, top_k=args.top_k, top_p=args.top_p)
    print(args.prompt + text)
    return 0


def cmd_train(argv):
    from hf_arith.training.arguments import parse_train_args
    from hf_arith.training.run import train

    train(parse_train_args(argv))  # logs its summary (rank 0) through the "hf_arith" logger
    return 0


COMMANDS = {"train": cmd_train, "eval": cmd_eval, "calc": cmd_calc, "sample": cmd_sample}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    command = argv[0]
    if command not in COMMANDS:
        print(f"hf-arith: error: unknown command {command!r}; expected one of {', '.join(COMMANDS)}",
              file=sys.stderr)
        return 2
    # The library logs through "hf_arith.*" loggers; the command line shows their INFO lines.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    library_logger = logging.getLogger("hf_arith")
    library_logger.addHandler(handler)
    library_logger.setLevel(logging.INFO)
    try:
        return COMMANDS[command](argv[1:])
    except UsageError as error:
        print(error, file=sys.stderr)
        return 2
    except ValueError as error:  # the library's "bad value" errors
        print(f"hf-arith {command}: error: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
