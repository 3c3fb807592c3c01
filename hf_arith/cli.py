"""`hf-arith`: train, eval, calc and sample from the command line.

    hf-arith train [--preset add3] [--config args.yaml] [any Model/Data/Run/TrainingArguments flag]
    hf-arith eval MODEL_DIR
    hf-arith calc [MODEL_DIR] 123+456 "12+34*5" "(7-9)*3" -5+3   (or one per line on stdin; no folder: the shipped one)
    hf-arith sample MODEL_DIR --prompt "O God, O God!" --max_new_tokens 200 --temperature 0.8 --top_k 40 --seed 0
    hf-arith demo [MODEL_DIR] [--port 7860]    (a Gradio calculator in the browser)
    hf-arith refresh MODEL_DIR [MODEL_DIR ...]  (rewrite a folder's trust_remote_code files with this version's)

Bad input gives one line on stderr and exit code 2, before any output is written. A problem the model does not
finish prints `?` (the reason on stderr) and the exit code is 1, after every other answer is printed; a step the
model cannot take (an intermediate result too long for it, a negative dividend) prints `?` and the exit code is 2.
"""

import argparse
import itertools
import logging
import re
import sys

# Library imports happen inside the commands: `hf-arith --help` and a bad flag answer at once, without the ~6 s
# of importing torch, transformers and datasets.


class UsageError(Exception):
    pass


class OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{self.prog}: error: {message}")


def _note_untested_transformers():
    """Once the library is imported anyway (not before a usage error, which answers at once)."""
    from hf_arith.compat import warn_if_untested_transformers

    warn_if_untested_transformers()


def _load(model_dir: str, arithmetic: bool = True):
    from transformers.utils import logging as hf_logging

    from hf_arith.loading import load_model_folder

    _note_untested_transformers()

    hf_logging.disable_progress_bar()  # calc/eval/sample output stays clean
    loaded = load_model_folder(model_dir)
    if arithmetic and not loaded.is_arithmetic:
        raise UsageError(f"{model_dir!r} holds no arithmetic data settings (config.arith_data); was it trained by "
                         "hf-arith train on an arithmetic preset?")
    return loaded


def _load_calculator(model_dir: str | None) -> list:
    """The experts of a model or calculator folder, or of the shipped calculator when `model_dir` is None."""
    import os

    from transformers.utils import logging as hf_logging

    from hf_arith.loading import SHIPPED_CALCULATOR, load_calculator_folder

    _note_untested_transformers()
    hf_logging.disable_progress_bar()
    if model_dir is None and not os.path.isfile(os.path.join(SHIPPED_CALCULATOR, "calculator.json")):
        raise UsageError("hf-arith calc: error: this installation ships no calculator; pass a model folder")
    return load_calculator_folder(SHIPPED_CALCULATOR if model_dir is None else model_dir)


def _looks_like_expression(arg: str) -> bool:
    """'-5+3' or '-(2*3)' on the command line is a problem to compute, not an unknown option."""
    return bool(re.fullmatch(r"-[\d(][\d\s+\-*/()=]*", arg))


_EXPRESSION = re.compile(r"[\d\s+\-*/()=]+")


def _shipped_limits() -> str:
    """What the shipped calculator takes, from its calculator.json (read without importing torch)."""
    import json
    import os

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pretrained", "calc", "calculator.json")
    try:
        with open(path) as f:
            experts = json.load(f)["experts"]
    except (OSError, ValueError, KeyError, TypeError):
        return "this installation ships no calculator"
    limits = {}
    for expert in experts:
        for op in expert.get("operations", ""):
            limits[op] = max(limits.get(op, 0), expert.get("max_digits", 0))
    return "the shipped calculator takes operands of up to " + ", ".join(
        f"{limits[op]} digits for {op}" for op in "+-*/" if op in limits) + " (the lengths measured right)"


def cmd_calc(argv):
    parser = OneLineParser(prog="hf-arith calc", description="compute expressions with a trained model",
                           epilog="Without MODEL_DIR, " + _shipped_limits() + ". A model folder's limits are its "
                                  "own (its training range; a calculator folder's calculator.json).")
    parser.add_argument("model_dir", nargs="?", default=None, metavar="MODEL_DIR",
                        help="a model or calculator folder (default: the calculator shipped with hf_arith)")
    parser.add_argument("problems", nargs="*", help="e.g. 123+456 or '12+34*5'; none: read one per line from stdin")
    parser.add_argument("--answer-only", action="store_true", help="print only the answers")
    parser.add_argument("--trace", action="store_true", help="also print each step's trace and its verdict")
    parser.add_argument("--no_check", action="store_true",
                        help="use the model's answers without its own check of each (faster; a wrong answer then "
                             "passes as an answer)")
    parser.add_argument("--looks", type=int, default=None,
                        help="second looks an answer whose check disagrees gets (default 3): each changes the token "
                             "the model was least sure of (then the next least sure) to its second choice and lets it "
                             "go on; the first answer its check confirms is used (0: refuse at once)")
    parser.add_argument("--batch_size", type=int, default=1000)
    # A leading space keeps argparse from reading '-5+3' as an option; expressions ignore surrounding spaces.
    # Intermixed: options and problems in any order (`calc MODEL --answer-only 1+2`, `calc MODEL 1+2 --trace`).
    args = parser.parse_intermixed_args([" " + a if _looks_like_expression(a) else a for a in argv])
    if args.model_dir is not None and _EXPRESSION.fullmatch(args.model_dir):
        import os

        if not os.path.isdir(args.model_dir):  # `hf-arith calc 1234+1`: a problem for the shipped calculator
            args.problems, args.model_dir = [args.model_dir, *args.problems], None
    if args.batch_size < 1:
        raise UsageError(f"hf-arith calc: error: --batch_size must be >= 1, got {args.batch_size}")
    if args.looks is not None and args.looks < 0:
        raise UsageError(f"hf-arith calc: error: --looks must be >= 0, got {args.looks}")
    from hf_arith.calculator import DEFAULT_LOOKS, MAX_CHARACTERS

    batches = _problem_batches(args.problems, args.batch_size, MAX_CHARACTERS)
    first = next(batches, None)  # a problem to answer before the model is loaded (stdin may be empty)
    if first is None:
        raise UsageError("hf-arith calc: error: no problems given (arguments or stdin)")
    from hf_arith.calculator import Calculator

    calculator = Calculator(experts=_load_calculator(args.model_dir), batch_size=args.batch_size,
                            check=not args.no_check, looks=DEFAULT_LOOKS if args.looks is None else args.looks)
    status = 0
    for numbered in itertools.chain([first], batches):  # answered as the lines come, a batch at a time (as bc does)
        for where, text in numbered:  # every problem of a batch is checked before any of it is computed
            try:
                calculator.check(text)
            except ValueError as error:
                raise UsageError(f"hf-arith calc: error: {where}: {error}") from None
        results = calculator.run([text for _, text in numbered])
        for (where, _), result in zip(numbered, results):
            _print_result(where, result, args)
        sys.stdout.flush()
        if any(r.input_error for r in results):
            status = 2
        elif status == 0 and any(r.answer is None for r in results):
            status = 1
    return status


def _problem_batches(problems: list[str], batch_size: int, max_characters: int):
    """(where, text) batches of at most `batch_size`: the arguments, or stdin read a line at a time (a line longer
    than `max_characters` is refused as it is read, so an endless line never fills memory)."""
    if problems:
        numbered = [(f"argument {n}", text) for n, text in enumerate(problems, 1)]
        yield from (numbered[i : i + batch_size] for i in range(0, len(numbered), batch_size))
        return
    batch, number = [], 0
    while line := sys.stdin.readline(max_characters + 2):
        number += 1
        if len(line.rstrip("\r\n")) > max_characters:
            raise UsageError(f"hf-arith calc: error: line {number} is longer than {max_characters:,} characters")
        if line.strip():
            batch.append((f"line {number}", line.rstrip("\r\n")))
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def _print_result(where: str, result, args) -> None:
    from hf_arith.calculator import step_name

    answer = result.answer if result.answer is not None else "?"
    print(answer if args.answer_only else f"{result.expression} {answer}")
    if result.error:
        print(f"hf-arith calc: {where}: {result.expression}: {result.error}", file=sys.stderr)
    if args.trace:  # the verdict is verify_trace's (Python's) diagnosis, printed for the reader only
        own = 0
        for step in result.steps:
            own += step.check_of is None and step.look_of is None
            verdict = step.verdict
            status = ("not run" if verdict is None else "valid" if verdict.valid
                      else f"first wrong step {verdict.first_error_step}")
            name = step_name(step, own)
            print(f"  {name}: {step.prompt or f'{step.a}{step.op}{step.b}='}{step.completion}  [{status}]")


def _check_saving_into(folder: str, results_file: str) -> None:
    """Before the evaluation, which may take minutes: the folder must hold the all_results.json of a finished run
    (eval adds to it) and be writable. Writability is tried, not read from permission bits (root ignores them; a
    read-only mount or an immutable file refuses anyway), and the try leaves no file behind."""
    import os

    from hf_arith.loading import check_writable, read_json_object

    hint = "pass --no_save to print the results only"
    if not os.path.lexists(results_file):
        raise UsageError(f"hf-arith eval: error: {folder!r} holds no all_results.json of a finished run; {hint}")
    try:
        recorded = read_json_object(results_file)
    except ValueError as error:
        raise UsageError(f"hf-arith eval: error: {error}; {hint}") from None
    if not isinstance(recorded.get("evaluation"), dict) or not isinstance(recorded.get("preset"), str):
        raise UsageError(f"hf-arith eval: error: {results_file!r} is not the results of a finished hf-arith run (no "
                         f"'evaluation' and 'preset'); {hint}")
    try:
        with open(results_file, "r+"):
            pass
        check_writable(folder)
    except OSError:
        raise UsageError(f"hf-arith eval: error: cannot save into {folder!r} (it is read-only); {hint}") from None


def _eval_arguments(argv):
    parser = OneLineParser(prog="hf-arith eval", description="greedy-generation evaluation on named suites")
    parser.add_argument("model_dir")
    parser.add_argument("--suite", default=None,
                        help="comma-separated: test, validation, uniform, full_width, hard, edge, cells, exhaustive, "
                             "exhaustive_add/_sub/_mul/_div, length_N (default: test,uniform,full_width,hard,edge, or "
                             "only the lengths given)")
    parser.add_argument("--suite_size", type=int, default=10_000, help="problems per operation in drawn suites")
    parser.add_argument("--cell_size", type=int, default=1000,
                        help="problems per (operation, operand lengths) cell and per division case in --suite cells")
    parser.add_argument("--lengths", default=None,
                        help="operand lengths, e.g. 10,20,50,100,200: --length_size full-width problems each")
    parser.add_argument("--length_size", type=int, default=1000, help="problems per length")
    parser.add_argument("--digits", type=int, default=None,
                        help="draw the suites with operands of this many digits (default: the model's max_digits)")
    parser.add_argument("--batch_size", type=int, default=1000)
    parser.add_argument("--generate_all", action="store_true",
                        help="generate every problem (by default one forward pass first settles the problems that "
                             "greedy decoding provably gets right; the scores are the same)")
    parser.add_argument("--data_cache_dir", default=None)
    parser.add_argument("--no_save", action="store_true",
                        help="print only; by default the results go into MODEL_DIR (all_results.json, "
                             "heatmap_<suite>.png, the model card)")
    args = parser.parse_args(argv)
    for name in ("batch_size", "suite_size", "cell_size", "length_size", "digits"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise UsageError(f"hf-arith eval: error: --{name} must be >= 1, got {getattr(args, name)}")
    if args.lengths and not all(part.strip().isdigit() and int(part) > 0 for part in args.lengths.split(",")):
        raise UsageError(f"hf-arith eval: error: --lengths must be positive integers, got {args.lengths!r}")
    return args


def _suites_to_score(args, loaded, settings) -> tuple[list[str], list[str]]:
    """The suites and the length suites `args` name, each checked against the model before anything is drawn."""
    from hf_arith.data.problems import MAX_OPERAND_DIGITS
    from hf_arith.data.suites import DEFAULT_SUITES, check_suites, parse_suite_names

    lengths = [f"length_{int(part)}" for part in args.lengths.split(",")] if args.lengths else []
    names = parse_suite_names(args.suite) if args.suite else ([] if lengths else list(DEFAULT_SUITES))
    # the widest operand the model takes: its padding width, else its tokenizer's columns, else the library's bound
    widest = settings.max_digits if settings.zero_pad else getattr(loaded.tokenizer, "max_digits", MAX_OPERAND_DIGITS)
    digits = args.digits or settings.max_digits
    try:
        if digits > min(widest, MAX_OPERAND_DIGITS):
            raise ValueError(f"--digits {digits} is beyond this model's operands (at most {widest})")
        check_suites(names, settings.operations, digits, widest, args.suite_size, args.cell_size)
        check_suites(lengths, settings.operations, digits, widest, args.length_size)
    except ValueError as error:
        raise UsageError(f"hf-arith eval: error: {error}") from None
    return names, lengths


def _save_evaluation(args, results: dict, settings) -> None:
    """Adds `results` to the folder's all_results.json, heatmaps and model card."""
    import fcntl
    import json
    import os

    from hf_arith.loading import RESULTS_LOCK, owned_files
    from hf_arith.model_card import write_model_card
    from hf_arith.training.artifacts import record_files, write_json
    from hf_arith.training.tasks import write_suite_figures

    results_file = os.path.join(args.model_dir, "all_results.json")
    if args.digits:  # a suite drawn at another length is another suite
        results = {f"{name}_{args.digits}digits" if name not in ("test", "validation") and not
                   name.startswith("length_") else name: m for name, m in results.items()}
    # two evals into one folder take turns: each reads the other's results before it adds its own
    with open(os.path.join(args.model_dir, RESULTS_LOCK), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(results_file) as f:
            recorded = json.load(f)
        recorded["evaluation"].update(results)
        write_json(results_file, recorded)
        before = set(os.listdir(args.model_dir))
        write_suite_figures(args.model_dir, recorded["evaluation"], recorded["preset"], settings, only=set(results))
        write_model_card(args.model_dir)
        if owned_files(args.model_dir):  # the figures are hf_arith's too (a folder with a manifest lists them)
            record_files(args.model_dir, set(os.listdir(args.model_dir)) - before)
    print(f"saved in {args.model_dir}: all_results.json, figures, README.md")


def cmd_eval(argv):
    import os

    args = _eval_arguments(argv)
    loaded = _load(args.model_dir)
    if not args.no_save:
        _check_saving_into(args.model_dir, os.path.join(args.model_dir, "all_results.json"))

    from hf_arith.data.builder import load_traces
    from hf_arith.data.settings import ArithmeticDataSettings
    from hf_arith.evaluation.scoring import evaluate_suites, format_examples, suite_line

    settings = ArithmeticDataSettings.from_saved(loaded.settings)
    names, lengths = _suites_to_score(args, loaded, settings)
    splits = load_traces(settings, args.data_cache_dir)
    results = evaluate_suites(loaded.model, loaded.tokenizer, settings, names, splits, args.suite_size,
                              args.batch_size, args.digits, args.cell_size, certify=not args.generate_all)
    if lengths:  # long sequences: a smaller batch (the KV cache keeps each new token's cost linear)
        results.update(evaluate_suites(loaded.model, loaded.tokenizer, settings, lengths, splits, args.length_size,
                                       min(args.batch_size, 200), certify=not args.generate_all))
    for name, metrics in results.items():
        print(suite_line(name, metrics))
        if metrics["first_error_step_counts"]:
            print("  first wrong step (count):", metrics["first_error_step_counts"])
        print(format_examples(metrics))
    if not args.no_save:
        _save_evaluation(args, results, settings)
    return 1 if any(m["unfinished"] for m in results.values()) else 0


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
    from hf_arith.evaluation.generation import MAX_SAMPLE_TOKENS, sample_text

    if not 0 < args.max_new_tokens <= MAX_SAMPLE_TOKENS:
        raise UsageError(f"hf-arith sample: error: --max_new_tokens must be in 1..{MAX_SAMPLE_TOKENS:,}, got "
                         f"{args.max_new_tokens:,}")
    loaded = _load(args.model_dir, arithmetic=False)
    # The text streams as it is generated, as a terminal user expects of a long sample.
    print(args.prompt, end="", flush=True)
    sample_text(loaded.model, loaded.tokenizer, args.prompt, args.max_new_tokens, args.seed,
                on_text=lambda piece: print(piece, end="", flush=True),
                temperature=args.temperature, top_k=args.top_k, top_p=args.top_p)
    print()
    return 0


def cmd_demo(argv):
    parser = OneLineParser(prog="hf-arith demo", description="a Gradio calculator for a trained model")
    parser.add_argument("model_dir", nargs="?", default=None, metavar="MODEL_DIR",
                        help="a model or calculator folder (default: the calculator shipped with hf_arith)")
    parser.add_argument("--port", type=int, default=None, help="local port (default: Gradio's first free one)")
    args = parser.parse_args(argv)
    if args.port is not None and not 0 < args.port < 65536:
        raise UsageError(f"hf-arith demo: error: --port must be in 1..65535, got {args.port}")
    import os

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: nothing leaves the machine
    try:
        from hf_arith.demo import Demo, build_app
    except ImportError as error:
        raise UsageError(f"hf-arith demo: error: {error.name} is not installed (pip install gradio)") from None
    _note_untested_transformers()
    app = build_app(Demo(args.model_dir))  # a folder that is not an hf_arith model: ValueError, exit 2, at once
    print(f"hf-arith demo: serving {args.model_dir or 'the shipped calculator'} (Ctrl-C to stop)", flush=True)
    app.launch(server_name="127.0.0.1", server_port=args.port, show_error=False)
    return 0


def cmd_train(argv):
    import torch.distributed as dist

    from hf_arith.training.arguments import parse_train_args
    from hf_arith.training.run import train

    _note_untested_transformers()

    preset = argparse.ArgumentParser(add_help=False)
    preset.add_argument("--preset")
    known, rest = preset.parse_known_args(argv)
    from hf_arith.training.calculator_preset import CALCULATOR_PRESETS, train_calculator

    if known.preset in CALCULATOR_PRESETS:  # several experts, then the calculator that routes between them
        train_calculator(known.preset, rest)
        return 0
    try:
        train(parse_train_args(argv))  # logs its summary (rank 0) through the "hf_arith" logger
    finally:
        # A process that exits with its gloo process group alive can abort in the interpreter's teardown
        # ("terminate called without an active exception", SIGABRT: pytorch/pytorch#190489); this process owns it.
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    return 0


def cmd_refresh(argv):
    parser = OneLineParser(prog="hf-arith refresh",
                           description="rewrite the code files a model folder ships for trust_remote_code users "
                                       "(modeling_arith_gpt.py, ...) with this hf_arith's; weights are not touched")
    parser.add_argument("model_dirs", nargs="+", metavar="MODEL_DIR")
    args = parser.parse_args(argv)
    from hf_arith import __version__
    from hf_arith.loading import refresh_code

    _note_untested_transformers()

    for folder in args.model_dirs:  # a folder that is not an hf_arith model: ValueError, one line, exit 2
        changed = refresh_code(folder)
        print(f"{folder}: " + (f"refreshed {', '.join(changed)} (hf_arith {__version__})" if changed
                               else f"code files already those of hf_arith {__version__}"))
    return 0


COMMANDS = {"train": cmd_train, "eval": cmd_eval, "calc": cmd_calc, "sample": cmd_sample, "demo": cmd_demo,
            "refresh": cmd_refresh}


class _CurrentStderr(logging.StreamHandler):
    """A StreamHandler on whatever sys.stderr is when a record is written (not the one it was made with)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _):
        pass


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
    # The library logs through "hf_arith.*" loggers; the command line shows their INFO lines (one handler however
    # often main runs in a process, writing to the sys.stderr of the moment).
    library_logger = logging.getLogger("hf_arith")
    if not any(isinstance(h, _CurrentStderr) for h in library_logger.handlers):
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter("%(message)s"))
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
    except OSError as error:  # a full disk, a folder that vanished: one line, not a traceback
        print(f"hf-arith {command}: error: {error.strerror or error}"
              + (f": {error.filename!r}" if error.filename else ""), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hf-arith {command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
