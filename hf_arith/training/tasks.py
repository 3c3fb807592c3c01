"""What is learned, decided once per run: arithmetic traces or a character corpus.

A task owns everything that differs between the two: its tokenizer, its data, the position range its sequences
need, its Trainer pieces (collator, metrics), its target metric, its final evaluation, its figures and its section
of the model card. `run.train` and the artifacts only talk to this interface.
"""

import logging
import math
from dataclasses import dataclass

from huggingface_hub import EvalResult

from ..batching import encode
from ..data.builder import load_traces
from ..data.corpus import corpus_datasets, periodic_sample, read_corpus
from ..data.settings import ArithmeticDataSettings
from ..data.suites import length_of, parse_suite_names
from ..data.traces import make_prompt, make_trace, max_completion_length
from ..evaluation.metrics import percent, preprocess_logits_for_metrics, teacher_forced_metrics
from ..evaluation.plots import save_accuracy_vs_length, save_heatmap, save_heatmaps
from ..evaluation.scoring import evaluate_suites, format_examples, suite_line
from ..tokenization_aligned import AlignedPairTokenizer
from ..tokenization_char_fast import CharTokenizerFast
from .arguments import TrainSpec
from .collator import AnswerOnlyCollator, stack_blocks
from .focus import FocusCallback, FocusSampler, probe_rows, row_cells

logger = logging.getLogger(__name__)


@dataclass
class CardSection:
    """The task's part of the model card: model-index results, a results table, a line on what was learned, and
    how to use the model (Python and CLI)."""

    eval_results: list[EvalResult]
    table: str
    task_line: str
    usage: str
    cli_line: str


class ArithmeticTask:
    target_metric = "eval_exact_match"

    def __init__(self, spec: TrainSpec):
        self.spec, self.settings = spec, spec.data
        self.data = None

    @property
    def max_digits(self) -> int:
        """The longest operand the model is built to take (tokenizer and position range)."""
        return self.spec.model.tokenizer_max_digits or self.settings.max_digits

    def build_tokenizer(self):
        if self.max_digits < self.settings.max_digits:
            raise ValueError(f"tokenizer_max_digits={self.max_digits} is below the data's max_digits="
                             f"{self.settings.max_digits}")
        if self.spec.model.tokenizer == "aligned":
            return AlignedPairTokenizer(max_digits=self.max_digits, fixed_columns=self.spec.model.fixed_columns)
        return CharTokenizerFast()  # the `tokenizers` twin: every character model ships tokenizer.json

    def n_positions(self, tokenizer) -> int:
        """The longest sequence the trace format can produce (prompt + completion + EOS), or, for coupled positions
        on a learned table, the largest coupled id plus one (offset + the longest number's digits + 1)."""
        d, fmt = self.max_digits, self.settings.format
        if self.spec.model.position_embedding == "coupled" and self.spec.model.coupled_embedding == "learned":
            # the largest id: a training number shifted by the largest offset, or the longest number the tokenizer
            # takes at offset 0 (ids are 1 + offset + significance)
            def longest(digits):
                return max({"+": digits + 1, "-": digits, "*": 2 * digits, "/": digits}[op]
                           for op in self.settings.operations)
            # the sentinel sits one past the answer's last digit
            extra = 1 if self.spec.model.coupled_markers == "sentinel" else 0
            return max(self.spec.model.coupled_max_offset + longest(self.settings.max_digits), longest(d)) + 1 + extra
        largest = 10**d - 1
        return max(len(encode(tokenizer, make_prompt(largest, op, largest))) + max_completion_length(op, fmt, d) + 1
                   for op in self.settings.operations)

    def model_config_extras(self, tokenizer) -> dict:
        if self.spec.model.position_embedding != "coupled":
            return {}
        return {**tokenizer.digit_layout(), "coupled_embedding": self.spec.model.coupled_embedding,
                "coupled_max_offset": self.spec.model.coupled_max_offset,
                "coupled_markers": self.spec.model.coupled_markers,
                # the config says None for "no window" (the command line cannot write None: -1 there)
                "coupled_attention_window": (None if self.spec.model.coupled_attention_window < 0
                                             else self.spec.model.coupled_attention_window)}

    def datasets(self, tokenizer):
        training = self.spec.training
        with training.main_process_first(desc="generating the arithmetic traces"):
            self.data = load_traces(self.settings, self.spec.run.data_cache_dir)
        return self.data["train"], self.data["validation"]

    def final_eval_dataset(self):
        return None  # the validation split the Trainer evaluated during training

    def trainer_pieces(self, tokenizer) -> dict:
        return {"data_collator": AnswerOnlyCollator(tokenizer),
                "compute_metrics": teacher_forced_metrics(tokenizer, self.settings.format),
                "preprocess_logits_for_metrics": preprocess_logits_for_metrics}

    def focus(self, train_dataset, tokenizer):
        """--focus_share > 0: the sampler that draws that share of the rows by cell and the callback that reweighs the
        cells (focus.py); None when off."""
        run = self.spec.run
        if not run.focus_share:
            return None
        cells = row_cells(train_dataset, run.focus_cases)
        sampler = FocusSampler(cells, run.focus_share, self.spec.training.data_seed or self.spec.training.seed,
                               within=run.focus_within)
        probe = probe_rows(train_dataset, cells, run.focus_probe, self.spec.training.seed)
        return FocusCallback(sampler, probe, AnswerOnlyCollator(tokenizer), run.focus_every)

    def saved_settings(self) -> dict:
        """Saved in the model's config as `arith_data`: what `hf-arith eval` / `calc` need to rebuild the data."""
        return {"task": "arithmetic", **self.settings.data_settings()}

    def evaluate(self, model, tokenizer, validation: dict) -> dict:
        """The final evaluation: greedy generation on each suite of `--suites` (the test split is `test`)."""
        names = parse_suite_names(self.spec.run.suites)
        results = evaluate_suites(model, tokenizer, self.settings, names, self.data, self.spec.run.suite_size,
                                  self.spec.run.eval_batch_size, cell_size=self.spec.run.cell_size)
        for name, metrics in results.items():
            logger.info("%s\n%s", suite_line(name, metrics), format_examples(metrics))
        return results

    def write_figures(self, output_dir: str, evaluation: dict) -> None:
        write_suite_figures(output_dir, evaluation, self.spec.run.preset, self.settings)

    def summary_lines(self, evaluation: dict) -> list[str]:
        return [suite_line(name, metrics) for name, metrics in evaluation.items()]

    @staticmethod
    def card_section(settings: dict, evaluation: dict, repo: str) -> CardSection:
        """A pure function of what the folder saves (config.arith_data, all_results.json's evaluation), so that
        `hf-arith eval` can add suites to a card later."""
        s = ArithmeticDataSettings.from_saved(settings)
        eval_results = [EvalResult(task_type="text-generation", dataset_type="arithmetic_traces",
                                   dataset_name=f"hf_arith {name} suite", dataset_config=s.operations,
                                   dataset_split=name, metric_type="exact_match",
                                   metric_name="exact match (greedy generation)",
                                   metric_value=round(metrics["exact_match"], 6))
                        for name, metrics in evaluation.items()]
        worst = {name: m["worst_cell"] for name, m in evaluation.items() if name == "cells" and m.get("worst_cell")}
        eval_results += [EvalResult(task_type="text-generation", dataset_type="arithmetic_traces",
                                    dataset_name=f"hf_arith {name} suite", dataset_config=s.operations,
                                    dataset_split=name, metric_type="exact_match_worst_cell",
                                    metric_name=f"worst cell exact match ({w['operation']} {w['cell']})",
                                    metric_value=round(w["exact_match"], 6)) for name, w in worst.items()]
        operations = sorted({op for m in evaluation.values() for op in m["by_operation"]})
        header = "| suite | problems | exact match | in training | exact match, never trained on |"
        header += "".join(f" `{op}` |" for op in operations) if len(operations) > 1 else ""
        rows = [header, "|" + "---|" * (header.count("|") - 1)]
        for name, m in evaluation.items():
            unseen = m.get("exact_match_unseen")
            row = (f"| `{name}` | {m['num_problems']:,} | **{percent(m['exact_match'], 3)} %** | "
                   f"{m.get('num_in_train', 0):,} | "
                   + (f"{percent(unseen, 3)} %" if unseen is not None else "-") + " |")
            if len(operations) > 1:
                row += "".join(f" {percent(m['by_operation'][op])} % |" if op in m["by_operation"] else " - |"
                               for op in operations)
            rows.append(row)
        table = ("Greedy generation with the KV cache, whole-trace exact match. Suites: `test` = the test split "
                 "(operand lengths uniform, never trained on), `uniform` = operands uniform over their values (the "
                 "notebooks' distribution), `full_width`, `hard` (long carries and borrows, dense 8s and 9s, "
                 "adversarial divisions), `edge` (0, 1, the largest operand, equal operands), `cells` (the same number "
                 "of problems in every operation and operand-length cell; its worst cell is the figure), "
                 "`division_cases` (a = b, b = 1, remainder 0, remainder b - 1), `exhaustive` (every problem; "
                 "`exhaustive_div`: every division).\n\n" + "\n".join(rows)
                 + "".join(f"\n\nWorst cell of `{name}`: `{w['operation']}` {w['cell']}, "
                           f"**{percent(w['exact_match'])} %** (every cell: heatmap_{name}_by_operation.png)."
                           for name, w in worst.items()))
        a, b = (123, 45) if s.max_digits >= 3 else (12, 3)
        prompt, completion = make_trace(a, s.operations[0], b, s.format, s.pad_width)
        usage = (f'batch = tokenizer(["{prompt}"], return_tensors="pt")\n'
                 f'print(tokenizer.decode(model.generate(**batch, max_new_tokens={len(completion) + 1}, '
                 f'do_sample=False)[0]))  # {completion}')
        return CardSection(
            eval_results, table,
            task_line=(f"for `{s.operations}` on {s.min_digits}-{s.max_digits}-digit operands in the `{s.format}` "
                       "format."),
            usage=usage, cli_line=f"or `hf-arith calc {repo} {prompt[:-1]}` with the package installed.")


def write_suite_figures(output_dir: str, evaluation: dict, title: str, settings, only=None) -> None:
    """A heatmap per suite (by operand lengths; with `only`, for those suites alone), and accuracy against length
    from every length_N suite recorded."""
    lengths = {length_of(name): metrics["exact_match"] for name, metrics in evaluation.items() if length_of(name)}
    for name, metrics in evaluation.items():
        if length_of(name) is None and (only is None or name in only):
            save_heatmap(metrics["by_digits"], f"{output_dir}/heatmap_{name}.png",
                         f"{title}: {name} exact match by operand lengths")
            by_operation = metrics.get("by_operation_digits", {})
            if len(by_operation) > 1:  # the calculator: where each operation's errors are
                save_heatmaps({f"a {op} b": cells for op, cells in by_operation.items()},
                              f"{output_dir}/heatmap_{name}_by_operation.png",
                              f"{title}: {name} exact match by operation and operand lengths")
    if lengths:
        save_accuracy_vs_length({title: lengths}, f"{output_dir}/accuracy_vs_length.png",
                                (settings.min_digits, settings.max_digits),
                                f"{title}: exact match on full-width problems by operand length")


class CorpusTask:
    target_metric = "eval_loss"

    def __init__(self, spec: TrainSpec):
        self.spec = spec
        self.corpus = read_corpus(spec.data.corpus_file)

    def build_tokenizer(self):
        return CharTokenizerFast.from_corpus(self.corpus)

    def n_positions(self, tokenizer) -> int:
        return self.spec.data.block_size

    def model_config_extras(self, tokenizer) -> dict:
        return {}

    def datasets(self, tokenizer):
        training = self.spec.training
        total = training.max_steps * training.per_device_train_batch_size * training.world_size
        train, self.validation = corpus_datasets(encode(tokenizer, self.corpus), self.spec.data.block_size, total,
                                                 training.seed)
        return train, periodic_sample(self.validation, self.spec.data.eval_blocks, training.seed)

    def final_eval_dataset(self):
        """Every validation block: the figure the docs and the card report."""
        return self.validation

    def trainer_pieces(self, tokenizer) -> dict:
        return {"data_collator": stack_blocks}

    def focus(self, train_dataset, tokenizer):
        if self.spec.run.focus_share:
            raise ValueError(f"--focus_share {self.spec.run.focus_share} weighs arithmetic cells; a corpus has none "
                             "(use 0)")
        return None

    def saved_settings(self) -> dict:
        return {"task": "corpus", "corpus_file": self.spec.data.corpus_file or "tinyshakespeare",
                "block_size": self.spec.data.block_size}

    def evaluate(self, model, tokenizer, validation: dict) -> dict:
        return {"validation_loss_nats_per_char": validation["eval_loss"]}

    def write_figures(self, output_dir: str, evaluation: dict) -> None:
        pass

    def summary_lines(self, evaluation: dict) -> list[str]:
        v = evaluation["validation_loss_nats_per_char"]
        return [f"validation loss {v:.4f} nats/char ({v / math.log(2):.3f} bits/char)"]

    @staticmethod
    def card_section(settings: dict, evaluation: dict, repo: str) -> CardSection:
        loss = evaluation["validation_loss_nats_per_char"]
        return CardSection(
            [EvalResult(task_type="text-generation", dataset_type="text", dataset_name="tinyshakespeare",
                        metric_type="loss", metric_name="validation loss (nats/char)", metric_value=loss)],
            table=f"| split | loss (nats/char) |\n|---|---|\n| validation (last 10 %) | {loss:.4f} |",
            task_line="as a character-level language model.",
            usage=('ids = tokenizer("O God, O God!", return_tensors="pt")\n'
                   'print(tokenizer.decode(model.generate(**ids, max_new_tokens=200, do_sample=True, top_k=40)[0]))'),
            cli_line=f'or `hf-arith sample {repo} --prompt "O God, O God!"` with the package installed.')


TASKS = {"arithmetic": ArithmeticTask, "corpus": CorpusTask}


def make_task(spec: TrainSpec):
    return TASKS[spec.data.task](spec)


__all__ = ["TASKS", "ArithmeticTask", "CardSection", "CorpusTask", "make_task"]
