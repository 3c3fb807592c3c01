"""`hf-arith`: train, eval, calc and sample from the command line.

    hf-arith train [--preset add3] [--config args.yaml] [any ModelArguments/DataArguments/TrainingArguments flag]
    hf-arith eval MODEL_DIR
    hf-arith calc MODEL_DIR 123+456 7*8        (or one problem per line on stdin)
    hf-arith sample MODEL_DIR --prompt "O God, O God!" --max_new_tokens 200 --temperature 0.8 --top_k 40 --seed 0

Bad input gives one line on stderr and exit code 2, before any output is written.
"""

import argparse
import logging
import os
import re
import sys

PROBLEM = re.compile(r"\s*(\d+)\s*([+\-*/])\s*(\d+)\s*=?\s*")


class UsageError(Exception):
    pass


class OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{self.prog}: error: {message}")


def load_model_and_tokenizer(model_dir: str):
    import hf_arith  # noqa: F401  (registers the Auto classes)
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # calc/eval/sample output stays clean

    if os.sep in model_dir or model_dir.startswith("."):
        if not os.path.isdir(model_dir):
            raise UsageError(f"model folder {model_dir!r} does not exist")
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    except OSError as error:
        raise UsageError(f"cannot load a model from {model_dir!r}: {str(error).splitlines()[0]}") from None
    return model, tokenizer


def _arith_settings(model, model_dir):
    settings = getattr(model.config, "arith_data", None)
    if not settings or "format" not in settings:
        raise UsageError(f"{model_dir!r} holds no arithmetic data settings (config.arith_data); "
                         "was it trained by hf-arith train on an arithmetic preset?")
    return settings


def parse_problem(text: str, max_digits: int | None) -> tuple[int, str, int]:
    match = PROBLEM.fullmatch(text)
    if not match:
        raise UsageError(f"malformed problem {text.strip()!r} (expected e.g. 123+456)")
    a, op, b = match.groups()
    if op == "/" and int(b) == 0:
        raise UsageError(f"division by zero in {text.strip()!r}")
    if max_digits is not None and max(len(a), len(b)) > max_digits:
        raise UsageError(f"problem {text.strip()!r} has an operand longer than this model's {max_digits} digits")
    return int(a), op, int(b)


def answer_from_completion(completion: str, op: str, fmt: str) -> str:
    """The plain, canonical answer in a generated completion, or '?' if it has none."""
    from hf_arith.data.traces import reverse_answer

    final = completion.rpartition("=")[2]
    if fmt == "reversed":
        final = reverse_answer(final)  # reversing is its own inverse
    pattern = r"(\d+)r(\d+)" if op == "/" else (r"(-?)(\d+)" if op == "-" else r"()(\d+)")
    match = re.fullmatch(pattern, final)
    if not match:
        return "?"
    if op == "/":
        return f"{int(match[1])}r{int(match[2])}"
    return f"{match[1]}{int(match[2])}" if int(match[2]) else "0"


def cmd_calc(argv):
    parser = OneLineParser(prog="hf-arith calc", description="answer arithmetic problems with a trained model")
    parser.add_argument("model_dir")
    parser.add_argument("problems", nargs="*", help="e.g. 123+456; none: read one per line from stdin")
    parser.add_argument("--answer-only", action="store_true", help="print only the answers")
    parser.add_argument("--trace", action="store_true", help="also print the generated trace and its verdict")
    parser.add_argument("--batch_size", type=int, default=1000)
    args = parser.parse_args(argv)
    texts = args.problems or [line for line in sys.stdin.read().splitlines() if line.strip()]
    if not texts:
        raise UsageError("hf-arith calc: error: no problems given (arguments or stdin)")
    model, tokenizer = load_model_and_tokenizer(args.model_dir)
    settings = _arith_settings(model, args.model_dir)
    pad = settings["max_digits"] if settings.get("zero_pad") else None
    limits = [x for x in (getattr(tokenizer, "max_digits", None), pad) if x is not None]
    limit = min(limits) if limits else None
    problems = [parse_problem(t, limit) for t in texts]  # all checked before anything is printed

    from hf_arith.data.traces import make_prompt
    from hf_arith.data.verify import verify_trace
    from hf_arith.training.evaluation import generate_completions

    prompts = [make_prompt(a, op, b, pad) for a, op, b in problems]
    longest = max(len(str(a)) + len(str(b)) for a, _, b in problems)
    max_new_tokens = {"plain": 2, "reversed": 2, "reverse_cot": 4}.get(settings["format"], 14) * (longest + 2) + 4
    completions = generate_completions(model, tokenizer, prompts, max_new_tokens, args.batch_size)
    for (a, op, b), prompt, completion in zip(problems, prompts, completions):
        answer = answer_from_completion(completion, op, settings["format"])
        print(answer if args.answer_only else f"{a}{op}{b} {answer}")
        if args.trace:
            verdict = verify_trace(prompt, completion)
            status = "valid" if verdict.valid else f"first wrong step {verdict.first_error_step}"
            print(f"  trace {prompt}{completion}  [{verdict.format}: {status}]")
    return 0


def cmd_eval(argv):
    parser = OneLineParser(prog="hf-arith eval", description="greedy-generation evaluation on the test split")
    parser.add_argument("model_dir")
    parser.add_argument("--split", default="test", choices=["test", "validation"])
    parser.add_argument("--batch_size", type=int, default=1000)
    parser.add_argument("--heatmap", default=None, help="PNG path (default: MODEL_DIR/heatmap.png)")
    parser.add_argument("--no_cache", action="store_true", help="generate without the KV cache")
    parser.add_argument("--data_cache_dir", default=None)
    args = parser.parse_args(argv)
    model, tokenizer = load_model_and_tokenizer(args.model_dir)
    settings = dict(_arith_settings(model, args.model_dir))
    from hf_arith.data.builder import load_arithmetic_traces
    from hf_arith.training.evaluation import evaluate_generation, format_examples, save_heatmap

    preset = settings.pop("preset")
    dataset = load_arithmetic_traces(preset, cache_dir=args.data_cache_dir, **settings)[args.split]
    import time

    start = time.perf_counter()
    result = evaluate_generation(model, tokenizer, dataset, batch_size=args.batch_size)
    seconds = time.perf_counter() - start
    m = result["metrics"]
    print(f"{args.split}: {len(dataset)} problems in {seconds:.1f} s ({len(dataset) / seconds:.0f} problems/s)")
    for key in ("exact_match", "answer_exact_match", "char_accuracy", "verified_answer_correct",
                "verified_trace_valid"):
        print(f"  {key:24s} {100 * m[key]:6.2f} %")
    print("  by digits (a x b):", ", ".join(f"{k} {100 * v:.1f}%" for k, v in m["by_digits"].items()))
    print("  by operation:", ", ".join(f"{op} {100 * v:.2f}%" for op, v in m["by_operation"].items()))
    if m["first_error_step_counts"]:
        print("  first wrong step (count):", m["first_error_step_counts"])
    print(format_examples(result["examples"]))
    heatmap = args.heatmap or (os.path.join(args.model_dir, "heatmap.png") if os.path.isdir(args.model_dir)
                               else "heatmap.png")
    save_heatmap(m["by_digits"], heatmap, f"{args.split} exact match by operand lengths")
    print(f"heatmap: {heatmap}")
    return 0


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
    if args.temperature <= 0:
        raise UsageError(f"hf-arith sample: error: temperature must be > 0, got {args.temperature}")
    if args.top_p is not None and not 0 < args.top_p <= 1:
        raise UsageError(f"hf-arith sample: error: top_p must be in (0, 1], got {args.top_p}")
    if args.max_new_tokens <= 0:
        raise UsageError(f"hf-arith sample: error: max_new_tokens must be > 0, got {args.max_new_tokens}")
    model, tokenizer = load_model_and_tokenizer(args.model_dir)
    import torch

    from hf_arith.training.evaluation import sample_text

    torch.manual_seed(args.seed)  # generate() draws from torch's global generator
    text = sample_text(model, tokenizer, args.prompt, args.max_new_tokens, temperature=args.temperature,
                       top_k=args.top_k, top_p=args.top_p)
    print(args.prompt + text)
    return 0


def cmd_train(argv):
    from hf_arith.training.artifacts import summary_lines
    from hf_arith.training.run import train

    results = train(argv)
    if results.get("test") is not None or "validation_loss_nats_per_char" in results:
        print("\n".join(summary_lines(results)))
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
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
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
