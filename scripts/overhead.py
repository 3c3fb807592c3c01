"""The per-step cost of `hf-arith train` against a bare PyTorch loop with the same model, optimizer and batches.

    python scripts/overhead.py --preset shakespeare-char [--steps 300] [--repeats 3] [--output overhead.json]
    python scripts/overhead.py --preset calc3 --steps 300 -- --focus_share 0      # extra flags after --

`hf-arith train`'s Trainer runs `--steps` optimizer steps with its evaluations and checkpoints off; after each of
its steps, a bare loop (nanoGPT's: forward, backward, clip, fused AdamW, schedule, zero_grad) on a copy of the
initial model takes one step on the batch the Trainer's collator just made. Each step of each is timed on its own,
the Trainer's from the end of the bare step before it to its own end (data, callbacks and logging included). The
first `--skip` steps are warm-up. The difference of the mean step times is what the Trainer, the callbacks, the
collator and the data path cost. With --focus_share, the probe's rescoring (the recipe's own work, which a bare loop
of the same recipe would do too) is timed apart and reported beside it.
"""

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time

import torch
from transformers import TrainerCallback, get_scheduler

from hf_arith.batching import length_buckets
from hf_arith.training.arguments import parse_train_args
from hf_arith.training.run import build_trainer
from hf_arith.training.tasks import make_task


class BareLoop:
    """nanoGPT's loop on a copy of the model: forward, backward, clip, fused AdamW with the Trainer's groups (no decay
    on biases and LayerNorms, i.e. on 1-D tensors), the same schedule, zero_grad."""

    def __init__(self, model, spec, steps: int):
        args = spec.training
        self.model, self.clip, self.buckets = copy.deepcopy(model).train(), args.max_grad_norm, spec.run.length_buckets
        params = [p for p in self.model.parameters() if p.requires_grad]
        groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": args.weight_decay},
                  {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
        self.optimizer = torch.optim.AdamW(groups, lr=args.learning_rate, betas=(args.adam_beta1, args.adam_beta2),
                                           eps=args.adam_epsilon, fused=True)
        self.scheduler = get_scheduler(args.lr_scheduler_type, self.optimizer,
                                       num_warmup_steps=args.get_warmup_steps(steps), num_training_steps=steps)

    def loss(self, batch):
        if not self.buckets:
            return self.model(**batch).loss
        mask, labelled = batch["attention_mask"], (batch["labels"][:, 1:] != -100).sum()
        loss = 0.0
        for rows in length_buckets(mask):  # as ArithTrainer.compute_loss with --length_buckets
            width = int(mask[rows].sum(dim=1).max())
            part = {k: v[rows, -width:] for k, v in batch.items()}
            loss = loss + self.model(**part).loss * (part["labels"][:, 1:] != -100).sum() / labelled
        return loss

    def step(self, batch):
        self.loss(batch).backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)


class Paired(TrainerCallback):
    """After each Trainer step, the bare loop's step on the batch the Trainer just trained on; each is timed apart,
    so both see the same machine at the same moment (its speed drifts by 20 % over minutes here)."""

    def __init__(self):
        self.bare, self.batches, self.trainer_s, self.bare_s, self.last = None, [], [], [], None
        self.focus_s = 0.0  # the focus rescoring inside the current step (--focus_share), timed apart
        self.focus_steps_s = []

    def on_step_begin(self, args, state, control, **kwargs):
        if self.last is None:
            self.last = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        now = time.perf_counter()
        self.trainer_s.append(now - self.last)
        self.focus_steps_s.append(self.focus_s)
        self.focus_s = 0.0
        batch = self.batches.pop(0)
        start = time.perf_counter()
        self.bare.step(batch)
        self.last = time.perf_counter()
        self.bare_s.append(self.last - start)


class Recording:
    """A collator that hands every batch it makes to the paired bare loop too."""

    def __init__(self, collate, paired: Paired):
        self.collate, self.paired = collate, paired

    def __call__(self, examples):
        batch = self.collate(examples)
        self.paired.batches.append({k: v.clone() for k, v in batch.items()})
        return batch


def paired_steps(argv: list[str]) -> tuple[list[float], list[float], list[float]]:
    """Step times (s) of hf_arith's Trainer, of the focus rescoring within them, and of the bare loop."""
    spec = parse_train_args(argv)
    paired = Paired()
    trainer, _, focus = build_trainer(spec, make_task(spec), callbacks=[paired])
    paired.bare = BareLoop(trainer.model, spec, spec.training.max_steps)
    trainer.data_collator = Recording(trainer.data_collator, paired)
    if focus is not None:  # the recipe's own work (a probe scored every focus_every steps), reported apart
        update = focus.update

        def timed_update(*args, **kwargs):
            start = time.perf_counter()
            result = update(*args, **kwargs)
            paired.focus_s += time.perf_counter() - start
            return result

        focus.update = timed_update
    trainer.train()
    return paired.trainer_s, paired.focus_steps_s, paired.bare_s


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", required=True)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--skip", type=int, default=20, help="warm-up steps left out of each mean")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", default=None, help="a JSON file for the step times")
    parser.add_argument("extra", nargs="*", help="more `hf-arith train` flags (after --)")
    args = parser.parse_args(argv)
    if args.steps <= args.skip + 1:
        print(f"overhead.py: error: --steps {args.steps} must exceed --skip {args.skip} + 1", file=sys.stderr)
        return 2
    report = {"preset": args.preset, "extra": args.extra, "threads": torch.get_num_threads(), "repeats": []}
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory() as out:
            flags = ["--preset", args.preset, "--output_dir", out, "--max_steps", str(args.steps),
                     "--eval_strategy", "no", "--save_strategy", "no", "--report_to", "none", *args.extra]
            steps, focus, bare = paired_steps(flags)
        hf, plain = statistics.mean(steps[args.skip:]), statistics.mean(bare[args.skip:])
        rescoring = statistics.mean(focus[args.skip:])
        report["repeats"].append({"hf_arith_ms": 1000 * hf, "bare_ms": 1000 * plain, "focus_ms": 1000 * rescoring,
                                  "hf_arith_median_ms": 1000 * statistics.median(steps[args.skip:]),
                                  "bare_median_ms": 1000 * statistics.median(bare[args.skip:]),
                                  "overhead_percent": 100 * ((hf - rescoring) / plain - 1)})
        print(f"repeat {repeat}: hf-arith train {1000 * hf:.2f} ms/step"
              + (f" ({1000 * rescoring:.2f} of them the focus rescoring)" if rescoring else "")
              + f", bare loop {1000 * plain:.2f} ms/step, overhead {100 * ((hf - rescoring) / plain - 1):+.1f} %"
              + (f" without the rescoring, {100 * (hf / plain - 1):+.1f} % with it" if rescoring else ""), flush=True)
    if args.output:
        with open(args.output, "w") as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
