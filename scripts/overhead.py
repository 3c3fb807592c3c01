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
import torch.nn.functional as F
from benchmarks import PlainGPT
from transformers import TrainerCallback, get_scheduler

from hf_arith.batching import length_buckets
from hf_arith.hardware import hardware_description
from hf_arith.training.arguments import parse_train_args
from hf_arith.training.run import build_trainer
from hf_arith.training.tasks import make_task


def nanogpt_of(config) -> torch.nn.Module:
    """nanoGPT's model (scripts/benchmarks.py) of the same shape; RoPE where the config has it, else learned."""
    return PlainGPT(config.vocab_size, config.n_positions, config.n_embd, config.n_layer, config.n_head,
                    rope=config.position_embedding == "rope")


def nanogpt_loss(model, batch):
    """nanoGPT's loss: cross-entropy of the next token where it is labelled (no attention mask: the same shapes)."""
    logits = model(batch["input_ids"])
    return F.cross_entropy(logits[:, :-1].flatten(0, 1), batch["labels"][:, 1:].flatten(), ignore_index=-100)


class BareLoop:
    """nanoGPT's loop on a copy of the model (or on nanoGPT's model of the same shape): forward, backward, clip,
    fused AdamW with the Trainer's groups (no decay on biases and LayerNorms, i.e. on 1-D tensors), the same
    schedule, zero_grad."""

    def __init__(self, model, spec, steps: int, loss_of=None):
        args = spec.training
        self.model, self.clip, self.buckets = copy.deepcopy(model).train(), args.max_grad_norm, spec.run.length_buckets
        self.loss_of = loss_of or (lambda model, batch: model(**batch).loss)
        params = [p for p in self.model.parameters() if p.requires_grad]
        groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": args.weight_decay},
                  {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
        self.optimizer = torch.optim.AdamW(groups, lr=args.learning_rate, betas=(args.adam_beta1, args.adam_beta2),
                                           eps=args.adam_epsilon, fused=True)
        self.scheduler = get_scheduler(args.lr_scheduler_type, self.optimizer,
                                       num_warmup_steps=args.get_warmup_steps(steps), num_training_steps=steps)

    def loss(self, batch):
        if not self.buckets:
            return self.loss_of(self.model, batch)
        mask, labelled = batch["attention_mask"], (batch["labels"][:, 1:] != -100).sum()
        loss = 0.0
        for rows in length_buckets(mask):  # as ArithTrainer.compute_loss with --length_buckets
            width = int(mask[rows].sum(dim=1).max())
            part = {k: v[rows, -width:] for k, v in batch.items()}
            loss = loss + self.loss_of(self.model, part) * (part["labels"][:, 1:] != -100).sum() / labelled
        return loss

    def step(self, batch):
        self.loss(batch).backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)


class Paired(TrainerCallback):
    """After each Trainer step, each plain loop's step on the batch the Trainer just trained on; every step is timed
    apart, so all see the same machine at the same moment (its speed drifts by 20 % over minutes here)."""

    def __init__(self):
        self.loops, self.batches, self.last, self.buckets = {}, [], None, False
        self.seconds = {"hf_arith": [], "focus": []}
        self.focus_s = 0.0  # the focus rescoring inside the current step (--focus_share), timed apart
        self.tokens, self.flops = [], []

    def on_step_begin(self, args, state, control, **kwargs):
        if self.last is None:
            self.last = time.perf_counter()

    def on_step_end(self, args, state, control, model=None, **kwargs):
        now = time.perf_counter()
        self.seconds["hf_arith"].append(now - self.last)
        self.seconds["focus"].append(self.focus_s)
        self.focus_s = 0.0
        batch = self.batches.pop(0)
        mask = batch.get("attention_mask")
        self.tokens.append(int(mask.sum()) if mask is not None else batch["input_ids"].numel())
        self.flops.append(step_flops(model.config, batch, self.buckets))
        for name, loop in self.loops.items():
            start = time.perf_counter()
            loop.step(batch)
            self.seconds.setdefault(name, []).append(time.perf_counter() - start)
        self.last = time.perf_counter()


def step_flops(config, batch, buckets: bool) -> float:
    """nanoGPT's estimate (its estimate_mfu) of one training step's FLOPs: per row of T tokens, (6 N + 12 L d T) T,
    N the blocks' and the head's weights; over each length group's own width when the batch trains in groups."""
    d, layers = config.n_embd, config.n_layer
    n = 12 * layers * d * d + config.vocab_size * d
    mask = batch.get("attention_mask")
    groups = length_buckets(mask) if buckets and mask is not None else [torch.arange(batch["input_ids"].shape[0])]
    total = 0.0
    for rows in groups:
        width = int(mask[rows].sum(dim=1).max()) if buckets and mask is not None else batch["input_ids"].shape[1]
        total += len(rows) * (6 * n + 12 * layers * d * width) * width
    return total


class Recording:
    """A collator that hands every batch it makes to the paired loops too."""

    def __init__(self, collate, paired: Paired):
        self.collate, self.paired = collate, paired

    def __call__(self, examples):
        batch = self.collate(examples)
        self.paired.batches.append({k: v.clone() for k, v in batch.items()})
        return batch


def paired_steps(argv: list[str], nanogpt: bool) -> Paired:
    """hf_arith's Trainer for the spec's steps, each followed by the plain loops' steps on its batch."""
    spec = parse_train_args(argv)
    paired = Paired()
    trainer, _, focus = build_trainer(spec, make_task(spec), callbacks=[paired])
    paired.buckets = spec.run.length_buckets
    steps = spec.training.max_steps
    paired.loops["bare"] = BareLoop(trainer.model, spec, steps)
    if nanogpt:
        torch.manual_seed(spec.training.seed)
        paired.loops["nanogpt"] = BareLoop(nanogpt_of(trainer.model.config), spec, steps, loss_of=nanogpt_loss)
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
    return paired


def matmul_peak(size: int = 2048, repeats: int = 10) -> float:
    """FLOP/s of a large fp32 matrix product on this machine's threads: the practical fp32 peak."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return repeats * 2 * size**3 / (time.perf_counter() - start)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", required=True)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--skip", type=int, default=20, help="warm-up steps left out of each mean")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--nanogpt", action="store_true", help="also time nanoGPT's model in the plain loop")
    parser.add_argument("--output", default=None, help="a JSON file for the step times")
    parser.add_argument("extra", nargs="*", help="more `hf-arith train` flags (after --)")
    args = parser.parse_args(argv)
    if args.steps <= args.skip + 1:
        print(f"overhead.py: error: --steps {args.steps} must exceed --skip {args.skip} + 1", file=sys.stderr)
        return 2
    peak = matmul_peak()
    report = {"preset": args.preset, "extra": args.extra, "threads": torch.get_num_threads(),
              "machine": hardware_description("cpu"), "matmul_peak_gflops": peak / 1e9, "repeats": []}
    print(f"fp32 matmul peak {peak / 1e9:.1f} GFLOP/s on {torch.get_num_threads()} threads", flush=True)
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory() as out:
            flags = ["--preset", args.preset, "--output_dir", out, "--max_steps", str(args.steps),
                     "--eval_strategy", "no", "--save_strategy", "no", "--report_to", "none", *args.extra]
            paired = paired_steps(flags, args.nanogpt)
        ms = {name: 1000 * statistics.mean(values[args.skip:]) for name, values in paired.seconds.items()}
        tokens, flops = statistics.mean(paired.tokens[args.skip:]), statistics.mean(paired.flops[args.skip:])
        machinery = ms["hf_arith"] - ms["focus"]
        row = {"ms_per_step": ms, "tokens_per_step": tokens, "flops_per_step": flops,
               "overhead_percent": 100 * (machinery / ms["bare"] - 1)}
        report["repeats"].append(row)
        line = (f"repeat {repeat}: hf-arith train {ms['hf_arith']:.2f} ms/step"
                + (f" ({ms['focus']:.2f} of them the focus rescoring)" if ms["focus"] else "")
                + f", bare loop {ms['bare']:.2f}" + (f", nanoGPT {ms['nanogpt']:.2f}" if "nanogpt" in ms else "")
                + f"; overhead {row['overhead_percent']:+.1f} %" + (" without the rescoring" if ms["focus"] else "")
                + f"; {tokens:.0f} tokens a step, hf-arith train at {1e3 * tokens / machinery:,.0f} tokens/s, "
                + f"{100 * flops / (machinery / 1e3) / peak:.0f} % of the matmul peak")
        print(line, flush=True)
    if args.output:
        with open(args.output, "w") as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
