"""--focus_share: put part of every training batch where the model is still wrong.

A calculator is judged by its worst (operation, digits of a, digits of b) cell, and the training mixture does not know
which cell that will be: it differs from seed to seed (3÷2 on one, 3÷3 on another). So every `focus_every` steps a
fixed probe of TRAINING problems (`focus_probe` per cell, drawn once) is scored teacher-forced, and a cell's weight is
its probe problems' mean loss: the negative log-likelihood of the whole trace, which is what a problem's chance of
coming out wrong grows with (a 141-token division that is 99.9 % sure of every token is right 87 % of the time).
A share `focus_share` of the training rows is then drawn by cell with those weights (a row of the chosen cell
uniformly), the rest uniformly from the training split as before. Only training problems are read: validation and
test stay unseen.
"""

import json
import logging
import os
import random
from collections import defaultdict

import torch
from transformers import TrainerCallback

from ..data.problems import cell_of
from ..data.suites import DIVISION_CASES, division_case
from .artifacts import write_json

logger = logging.getLogger(__name__)
# What the focus weighs against each other: every cell, or each operation's cells within that operation's share of
# the training rows (so no operation loses rows to another).
FOCUS_WITHIN = ("all", "operation")


def cell_name(cell: tuple) -> str:
    """'/ 3x2' for the cell ('/', 3, 2); '/ r=0' for the division case ('/', 'r=0')."""
    if len(cell) == 2:
        return f"{cell[0]} {cell[1]}"
    op, da, db = cell
    return f"{op} {da}x{db}"


def focus_group(op: str, a: int, b: int, cases: bool = False) -> tuple:
    """A problem's focus group: its (operation, digits of a, digits of b) cell, or with `cases`, for a division in
    one of the cases a calculator gets wrong first (a = b, b = 1, r = 0, r = b - 1: the division_cases suite's), the
    first of them it is in, as ('/', case)."""
    if cases and op == "/":
        case = next((c for c in division_case(a, b) if c in DIVISION_CASES), None)
        if case is not None:
            return op, case
    return cell_of((op, a, b))


def row_cells(dataset, cases: bool = False) -> list[tuple]:
    """The focus group (`focus_group`) of every row of a trace dataset (its `op`, `a`, `b` columns)."""
    return [focus_group(op, int(a), int(b), cases) for op, a, b in zip(dataset["op"], dataset["a"], dataset["b"])]


class FocusSampler(torch.utils.data.Sampler):
    """Indices of the training rows: with probability `share` a row of a cell drawn by the current weights, else a
    row drawn uniformly from all (with replacement, seeded; each pass over it draws a new sequence). Until weights are
    set, every row is drawn uniformly. Indices are drawn one at a time, so weights set during a pass take effect at
    once."""

    def __init__(self, cells: list, share: float, seed: int, num_samples: int | None = None, within: str = "all"):
        if not 0 < share <= 1:
            raise ValueError(f"focus share must be in (0, 1], got {share}")
        if within not in FOCUS_WITHIN:
            raise ValueError(f"focus within must be one of {FOCUS_WITHIN}, got {within!r}")
        if not cells:
            raise ValueError("the focus sampler needs at least one row")
        self.share, self.seed, self.passes, self.within = share, seed, 0, within
        self.num_samples = len(cells) if num_samples is None else num_samples
        rows = defaultdict(list)
        for i, cell in enumerate(cells):
            rows[cell].append(i)
        self.cells = sorted(rows, key=cell_name)
        self.rows = [rows[cell] for cell in self.cells]
        self.total = len(cells)
        self.weights: list[float] | None = None

    def set_weights(self, weights: dict) -> None:
        """weights: cell -> weight >= 0 (a cell left out: 0). All zero (nothing left to learn): uniform rows.
        within="operation": each operation keeps its share of the training rows, and the weights divide it among its
        cells (an operation whose weights are all zero: among its rows uniformly)."""
        unknown = set(weights) - set(self.cells)
        if unknown:
            raise ValueError(f"no training rows in cell(s) {sorted(map(cell_name, unknown))}")
        values = [float(weights.get(cell, 0.0)) for cell in self.cells]
        if any(not v >= 0 for v in values):  # negative or NaN
            raise ValueError(f"focus weights must be >= 0, got {weights}")
        if self.within == "operation":
            values = self._within_operations(values)
        self.weights = values if sum(values) > 0 else None

    def _within_operations(self, values: list[float]) -> list[float]:
        ops = {cell[0] for cell in self.cells}
        rows = {op: sum(len(r) for c, r in zip(self.cells, self.rows) if c[0] == op) for op in ops}
        weight = {op: sum(v for c, v in zip(self.cells, values) if c[0] == op) for op in ops}
        return [rows[c[0]] / self.total * (v / weight[c[0]] if weight[c[0]] > 0 else len(r) / rows[c[0]])
                for c, v, r in zip(self.cells, values, self.rows)]

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self):
        rng = random.Random(f"{self.seed}-focus-{self.passes}")
        self.passes += 1
        for _ in range(self.num_samples):
            if self.weights is not None and rng.random() < self.share:
                rows = self.rows[rng.choices(range(len(self.cells)), self.weights)[0]]
                yield rows[rng.randrange(len(rows))]
            else:
                yield rng.randrange(self.total)


def probe_rows(dataset, cells: list, per_cell: int, seed: int) -> dict:
    """`per_cell` rows of every cell (all of a smaller one), drawn once with a seeded generator: cell -> [row dict]."""
    rows = defaultdict(list)
    for i, cell in enumerate(cells):
        rows[cell].append(i)
    rng = random.Random(f"{seed}-focus-probe")
    return {cell: [dataset[i] for i in sorted(rng.sample(indices, min(per_cell, len(indices))))]
            for cell, indices in sorted(rows.items(), key=lambda item: cell_name(item[0]))}


@torch.no_grad()
def row_losses(model, collator, examples: list[dict], batch_size: int = 256) -> list[float]:
    """The summed negative log-likelihood of each example's labelled tokens (its completion and EOS), teacher-forced:
    the log of 1 / P(the whole trace)."""
    was_training = model.training
    model.eval()
    losses = []
    try:
        for start in range(0, len(examples), batch_size):
            batch = collator(examples[start : start + batch_size])
            batch = {name: tensor.to(model.device) for name, tensor in batch.items()}
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
            labels = batch["labels"][:, 1:]
            nll = torch.nn.functional.cross_entropy(logits[:, :-1].transpose(1, 2), labels, ignore_index=-100,
                                                    reduction="none")
            losses += nll.sum(dim=1).tolist()
    finally:
        model.train(was_training)
    return losses


FOCUS_FILE = "hf_arith_focus.json"  # the focus history, in each checkpoint


class FocusCallback(TrainerCallback):
    """Scores the probe at the start of training and every `every` steps, and sets the sampler's weights to each
    cell's mean probe loss. `history` keeps, per update, the step and the cells' weights (shares of the focus)."""

    def __init__(self, sampler: FocusSampler, probe: dict, collator, every: int):
        self.sampler, self.probe, self.collator, self.every = sampler, probe, collator, every
        self.history: list[dict] = []

    def update(self, model, step: int) -> dict:
        cells = list(self.probe)
        examples = [example for cell in cells for example in self.probe[cell]]
        losses = iter(row_losses(model, self.collator, examples))
        means = {cell: sum(next(losses) for _ in self.probe[cell]) / len(self.probe[cell]) for cell in cells}
        self.sampler.set_weights(means)
        total = sum(means.values()) or 1.0
        shares = {cell_name(cell): round(value / total, 4) for cell, value in means.items()}
        self.history.append({"step": step, "shares": shares})
        top = sorted(shares.items(), key=lambda kv: -kv[1])[:4]
        logger.info("focus at step %d: %s", step, ", ".join(f"{name} {share:.1%}" for name, share in top))
        return means

    def resume_from(self, checkpoint: str) -> None:
        """Continues the history saved in `checkpoint` (by `on_save`): a resumed run reports where the focus went
        before the checkpoint too."""
        path = os.path.join(checkpoint, FOCUS_FILE)
        if os.path.isfile(path):
            with open(path) as f:
                self.history = json.load(f)

    def on_save(self, args, state, control, **kwargs):
        checkpoint = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
        if state.is_world_process_zero and os.path.isdir(checkpoint):
            write_json(os.path.join(checkpoint, FOCUS_FILE), self.history)

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if self.history and self.history[-1]["step"] == state.global_step:
            self.history.pop()  # resumed where it last scored: scored again for the new sampler, recorded once
        self.update(model, state.global_step)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step % self.every == 0 and state.global_step < state.max_steps:
            self.update(model, state.global_step)


__all__ = ["FOCUS_FILE", "FOCUS_WITHIN", "FocusCallback", "FocusSampler", "cell_name", "focus_group", "probe_rows",
           "row_cells", "row_losses"]
