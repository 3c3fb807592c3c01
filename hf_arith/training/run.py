"""`hf-arith train`, read top to bottom: spec -> task -> seed -> tokenizer, data, model -> Trainer -> final
evaluation -> artifacts. Settings come resolved in a `TrainSpec` (arguments.py); everything that differs between
arithmetic and a text corpus lives in the task (tasks.py)."""

import errno
import fcntl
import json
import logging
import os
import re
import shutil
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

from transformers import Trainer, TrainerState, set_seed

from ..batching import length_buckets
from ..configuration_arith_gpt import ArithGPTConfig
from ..hardware import hardware_description
from ..loading import EXPORTED_CODE_FILES, check_writable, config_record, owned_files, tokenizer_record
from ..modeling_arith_gpt import ArithGPTForCausalLM
from .arguments import ModelArguments, TrainSpec
from .callbacks import TIMING_FILE, TargetAndTiming, clock_schedule
from .checkpoints import check_resumable
from .optim import build_muon
from .tasks import make_task

logger = logging.getLogger(__name__)
FINISHED_RUN_FILES = ("all_results.json", "model.safetensors")
LOCK_FILE = ".hf_arith-train.lock"


@dataclass
class TrainResults:
    """What a run measured; written to all_results.json and read by the model card and the summary."""

    preset: str
    command: str
    parameters: int
    world_size: int
    train_runtime_s: float  # training wall time, across resumes (evaluations during training included)
    global_step: int
    seconds_to_target: float | None
    target_exact_match: float | None
    stopped_by_time_budget: bool
    validation: dict
    device: str
    hardware: str
    resumed_from: str | None = None
    max_train_seconds: float | None = None  # the wall-clock budget, if the run had one
    hyperparameters: dict = field(default_factory=dict)
    evaluation: dict = field(default_factory=dict)
    # --focus_share: its settings and, per rescoring, each cell's share of the focused rows (None when off)
    focus: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def build_model(model_args: ModelArguments, tokenizer, n_positions: int, **extras) -> ArithGPTForCausalLM:
    config = ArithGPTConfig(
        vocab_size=tokenizer.vocab_size, n_positions=n_positions, n_embd=model_args.n_embd,
        n_layer=model_args.n_layer, n_head=model_args.n_head, dropout=model_args.dropout, bias=model_args.bias,
        position_embedding=model_args.position_embedding, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        # the bigram baseline needs a full vocab x vocab table, which a tied head of width n_embd is not
        tie_word_embeddings=model_args.n_layer > 0, **extras,
    )
    return ArithGPTForCausalLM(config)


def hyperparameters(spec: TrainSpec, config: ArithGPTConfig) -> dict:
    """What the model card lists: the model's shape, its tokenizer and the optimizer settings."""
    return {"model": {k: getattr(config, k) for k in ("n_layer", "n_embd", "n_head", "position_embedding", "dropout",
                                                      "vocab_size", "n_positions")},
            "tokenizer": spec.model.tokenizer,
            "training": {k: getattr(spec.training, k) for k in (
                "learning_rate", "lr_scheduler_type", "warmup_steps", "weight_decay", "adam_beta2",
                "per_device_train_batch_size", "max_steps", "seed")},
            "optimizer": ("AdamW" if spec.run.optimizer == "adamw"
                          else f"Muon (blocks' matrices, lr x {spec.run.muon_lr_scale:g}) + AdamW")}


def is_complete_checkpoint(path: str) -> bool:
    """The Trainer writes trainer_state.json last: a checkpoint without it (or without weights) was cut short."""
    return (os.path.isfile(os.path.join(path, "trainer_state.json"))
            and os.path.isfile(os.path.join(path, "model.safetensors")))


def last_complete_checkpoint(output_dir: str) -> str | None:
    if not os.path.isdir(output_dir):
        return None
    steps = [(int(name.split("-")[1]), os.path.join(output_dir, name)) for name in os.listdir(output_dir)
             if name.startswith("checkpoint-") and name.split("-")[1].isdigit()]
    complete = [path for _, path in sorted(steps) if is_complete_checkpoint(path)]
    # hf_arith's timing file (the history and the clock) is written in on_save, after the Trainer's files: a
    # checkpoint that has trainer_state.json but not it, where earlier ones have it, was cut in between, and resuming
    # from it would drop the history before it
    timed = [path for path in complete if os.path.isfile(os.path.join(path, TIMING_FILE))]
    return (timed or complete)[-1] if complete else None


def resolve_resume(spec: TrainSpec) -> str | None:
    """--resume_from_checkpoint true: the newest COMPLETE checkpoint in the output folder; or a checkpoint path."""
    value, output_dir = spec.training.resume_from_checkpoint, spec.training.output_dir
    if value is None:
        return None
    if value.lower() == "true":
        checkpoint = last_complete_checkpoint(output_dir)
        if checkpoint is None:
            raise ValueError(f"--resume_from_checkpoint true, but there is no complete checkpoint in {output_dir!r}")
        return checkpoint
    if not is_complete_checkpoint(value):
        raise ValueError(f"{value!r} is not a complete checkpoint folder (no trainer_state.json or model.safetensors)")
    return value


# The names a finished run writes into its folder (the Trainer's model and tokenizer files, hf_arith's code, results
# and figures): a file of one of these names that hf_arith did not write would be replaced.
RUN_FILES = {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
             "special_tokens_map.json", "vocab.json", "added_tokens.json", "chat_template.jinja", "all_results.json",
             "training_history.json", "training_curves.png", "accuracy_vs_length.png", "README.md",
             *EXPORTED_CODE_FILES}
RUN_FIGURE = re.compile(r"heatmap_(test|validation|uniform|full_width|hard|edge|cells|division_cases|exhaustive\w*|"
                        r"(length|hard)_\d+)(_by_operation)?(_\d+digits)?\.png")


def others_files(output_dir: str) -> list[str]:
    """The files in `output_dir` that a run would replace and that hf_arith did not write (its manifest does not list
    them). A folder an earlier hf_arith wrote without a manifest (its config.json an arith_gpt model's, with
    all_results.json) counts as hf_arith's."""
    if not os.path.isdir(output_dir):
        return []
    names = sorted(os.listdir(output_dir))
    own = owned_files(output_dir)
    if not own and "all_results.json" in names:
        try:
            with open(os.path.join(output_dir, "config.json")) as f:
                if json.load(f).get("model_type") == "arith_gpt":
                    return []
        except (OSError, ValueError, AttributeError):
            pass
    return [name for name in names if name not in own and (name in RUN_FILES or RUN_FIGURE.fullmatch(name))]


def check_output_dir(spec: TrainSpec, resuming: bool) -> None:
    """Never replace a user's finished model without being told to (Trainer convention: --overwrite_output_dir)."""
    output_dir = spec.training.output_dir
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise ValueError(f"output folder {output_dir!r} exists and is not a folder")
    foreign = others_files(output_dir)
    if foreign:
        raise ValueError(f"output folder {output_dir!r} holds files hf_arith did not write ({', '.join(foreign[:3])}"
                         f"{', ...' if len(foreign) > 3 else ''}), which a run would replace: pass an empty or new "
                         "--output_dir")
    finished = [name for name in FINISHED_RUN_FILES if os.path.isfile(os.path.join(output_dir, name))]
    if finished and not resuming and not spec.run.overwrite_output_dir:
        raise ValueError(f"output folder {output_dir!r} already holds a finished model ({finished[0]}); pass "
                         "--overwrite_output_dir true to replace it, or another --output_dir")
    try:
        os.makedirs(output_dir, exist_ok=True)
        check_writable(output_dir)
    except OSError as error:
        raise ValueError(f"cannot write to output folder {output_dir!r}: {error.strerror}") from None


@contextmanager
def output_folder_lock(output_dir: str):
    """Holds the output folder for one run: a second `hf-arith train` into it is refused at once (its files would mix
    with this run's). The lock is an flock, which the kernel releases when the process ends however it ends (kill -9
    included), so the file a killed run leaves is a stale lock that the next run simply takes. The ranks of one
    multi-process run share the folder: rank 0 holds it."""
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise ValueError(f"output folder {output_dir!r} exists and is not a folder")
    if int(os.environ.get("RANK", "0")) != 0:
        yield
        return
    path = os.path.join(output_dir, LOCK_FILE)
    while True:
        try:
            os.makedirs(output_dir, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise ValueError(f"cannot write to output folder {output_dir!r}: {error.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise ValueError(f"output folder {output_dir!r} is in use by another hf-arith train (pid {holder}); wait "
                             "for it to finish or pass another --output_dir") from None
        # The holder before us may have removed the file after we opened it: then this lock guards nothing.
        if os.path.exists(path) and os.path.samestat(os.fstat(fd), os.stat(path)):
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.remove(path)  # removed while still held, so a waiting opener sees a stale file and starts over
        os.close(fd)


class ArithTrainer(Trainer):
    """The Trainer, except that under a wall-clock budget (--max_train_seconds) the learning-rate decay follows the
    clock as well as the steps (callbacks.clock_schedule), so a run the budget cuts short ends annealed."""

    def __init__(self, *args, timing: TargetAndTiming, length_buckets: bool = False, focus_sampler=None,
                 muon_lr_scale: float | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.timing = timing
        self.muon_lr_scale = muon_lr_scale  # None: the Trainer's optimizer
        self.length_buckets = length_buckets
        self.focus_sampler = focus_sampler
        self._counted_parameters: int | None = None

    def floating_point_ops(self, inputs) -> int:
        """transformers' estimate, 6 x tokens x non-embedding parameters, with the parameters counted once (the
        Trainer counts them at every step: 0.3 ms of a 45 ms step)."""
        if self._counted_parameters is None:
            self._counted_parameters = self.model.num_parameters(exclude_embeddings=True)
        return 6 * inputs["input_ids"].numel() * self._counted_parameters

    def _get_train_sampler(self, train_dataset=None):
        """--focus_share: the focus sampler (focus.py) in place of the Trainer's random one."""
        if self.focus_sampler is not None:
            return self.focus_sampler
        return super()._get_train_sampler(train_dataset)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        """--length_buckets: one forward per group of rows of similar length (batching.length_buckets), each trimmed
        of the left padding it does not need. Positions come from the attention mask, so a trimmed row is the same
        row to the model, and the groups' losses add up to the whole batch's: summed where the Trainer normalizes by
        num_items_in_batch, weighted by each group's labelled tokens where the model takes a mean."""
        mask = inputs.get("attention_mask")
        if not (self.length_buckets and model.training and not return_outputs and mask is not None
                and "labels" in inputs and set(inputs) <= {"input_ids", "attention_mask", "labels"}):
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        groups = length_buckets(mask)
        if len(groups) == 1 or not (inputs["labels"][:, 1:] != -100).any():
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        summed = num_items_in_batch is not None and self.model_accepts_loss_kwargs
        labelled = None if summed else (inputs["labels"][:, 1:] != -100).sum()
        total = 0.0
        for rows in groups:
            width = int(mask[rows].sum(dim=1).max())
            part = {name: tensor[rows, -width:] for name, tensor in inputs.items()}
            if summed:
                total = total + super().compute_loss(model, part, False, num_items_in_batch)
                continue
            # A mean over no labelled token is NaN (0/0): such a group adds nothing to the batch's mean, so skip it.
            group_labelled = (part["labels"][:, 1:] != -100).sum()
            if group_labelled:
                total = total + super().compute_loss(model, part, False, None) * group_labelled / labelled
        return total

    def create_optimizer(self, model=None):
        """--optimizer muon: Muon for the blocks' matrices, AdamW for the rest (optim.py), as one optimizer."""
        if self.muon_lr_scale is None or self.optimizer is not None:
            return super().create_optimizer(model)
        self.optimizer = build_muon(model or self.model, self.args, self.muon_lr_scale)
        return self.optimizer

    def create_scheduler(self, num_training_steps: int, optimizer=None):
        if self.timing.max_seconds is None or self.lr_scheduler is not None:
            return super().create_scheduler(num_training_steps, optimizer)
        self.lr_scheduler = clock_schedule(optimizer or self.optimizer, self.args.lr_scheduler_type,
                                           self.args.get_warmup_steps(num_training_steps), num_training_steps,
                                           self.timing)
        self._created_lr_scheduler = True
        return self.lr_scheduler


def train(spec: TrainSpec, callbacks: list | None = None) -> TrainResults:
    """Runs one training as `spec` says; `callbacks` are extra TrainerCallbacks (e.g. a benchmark's own check)."""
    task = make_task(spec)  # arithmetic or corpus: decided here, once
    resume = resolve_resume(spec)
    with output_folder_lock(spec.training.output_dir):
        check_output_dir(spec, resuming=resume is not None)
        try:
            return _train(spec, task, resume, callbacks)
        except Exception as error:
            if not is_disk_full(error):
                raise
            raise OSError(errno.ENOSPC, disk_full_message(spec.training.output_dir)) from None


def is_disk_full(error: BaseException) -> bool:
    """A full disk, however the writer says it: OSError ENOSPC, safetensors' 'code: 28' or torch's stream writer."""
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    text = str(error)
    return "No space left on device" in text or "code: 28" in text or "StorageFull" in text


def disk_full_message(output_dir: str) -> str:
    """Removes the checkpoint the full disk cut short and says what the folder keeps."""
    for name in os.listdir(output_dir) if os.path.isdir(output_dir) else []:
        path = os.path.join(output_dir, name)
        if name.startswith(("checkpoint-", "tmp-checkpoint-")) and os.path.isdir(path) \
                and not is_complete_checkpoint(path):
            shutil.rmtree(path, ignore_errors=True)
    kept = last_complete_checkpoint(output_dir)
    return (f"no space left on device while writing into {output_dir!r}; "
            + (f"it keeps {os.path.basename(kept)} (--resume_from_checkpoint true goes on from it)" if kept
               else "no checkpoint was complete"))


def build_trainer(spec: TrainSpec, task, resume: str | None = None, callbacks: list | None = None):
    """Seed, tokenizer, model, data and the Trainer that trains them: (trainer, timing, focus), ready to train."""
    set_seed(spec.training.seed)  # before the model is built, as run_clm.py does: --seed seeds the initial weights

    tokenizer = task.build_tokenizer()
    # the model before the data (the data draws from its own seeded generators, not torch's), so a checkpoint that
    # cannot be resumed is refused before the traces are generated
    model = build_model(spec.model, tokenizer, task.n_positions(tokenizer), **task.model_config_extras(tokenizer))
    if resume is not None:
        check_resumable(resume, model, muon=spec.run.optimizer == "muon")
    train_dataset, eval_dataset = task.datasets(tokenizer)
    # eval/calc read the data settings from the saved config; the records let loading refuse an edited folder
    model.config.arith_data = {**task.saved_settings(), "tokenizer": tokenizer_record(tokenizer),
                               "trained_config": config_record(model.config)}

    # 0 means "no target"; a corpus run has no exact match to reach.
    has_target = task.target_metric == "eval_exact_match" and spec.run.target_exact_match > 0
    target = spec.run.target_exact_match if has_target else None
    timing = TargetAndTiming(target, task.target_metric, spec.run.max_train_seconds)
    if resume is not None:
        timing.resume_from(resume)  # the history and training time before the checkpoint count too
    focus = task.focus(train_dataset, tokenizer)
    if focus is not None and resume is not None:
        focus.resume_from(resume)  # where the focus went before the checkpoint is part of the run's record
    trainer = ArithTrainer(model=model, args=spec.training, train_dataset=train_dataset, eval_dataset=eval_dataset,
                           processing_class=tokenizer,
                           callbacks=[timing, *([focus] if focus else []), *(callbacks or [])], timing=timing,
                           length_buckets=spec.run.length_buckets, focus_sampler=focus.sampler if focus else None,
                           muon_lr_scale=spec.run.muon_lr_scale if spec.run.optimizer == "muon" else None,
                           **task.trainer_pieces(tokenizer))
    return trainer, timing, focus


def _train(spec: TrainSpec, task, resume: str | None, callbacks: list | None) -> TrainResults:
    trainer, timing, focus = build_trainer(spec, task, resume, callbacks)
    model, tokenizer, target = trainer.model, trainer.processing_class, timing.target
    parameters = sum(p.numel() for p in model.parameters())
    if trainer.is_world_process_zero():
        logger.info("preset %s: %s parameters, world size %d", spec.run.preset, f"{parameters:,}",
                    spec.training.world_size)
    finished = TrainerState.load_from_json(os.path.join(resume, "trainer_state.json")) if resume else None
    if finished is not None and 0 < spec.training.max_steps <= finished.global_step:
        # The checkpoint is the end of training (the run stopped in its final evaluation): the Trainer would train
        # one step more when resumed from it (transformers 5.23 checks max_steps only after a step), so it is loaded.
        trainer.model.load_state_dict(type(model).from_pretrained(resume).state_dict())
        trainer.state, timing.train_seconds = finished, timing.earlier_seconds
    else:
        trainer.train(resume_from_checkpoint=resume)
    validation = trainer.evaluate(eval_dataset=task.final_eval_dataset())

    results = TrainResults(
        preset=spec.run.preset, command=spec.command, parameters=parameters, world_size=spec.training.world_size,
        train_runtime_s=timing.train_seconds, global_step=trainer.state.global_step, resumed_from=resume,
        seconds_to_target=timing.seconds_to_target, target_exact_match=target,
        stopped_by_time_budget=timing.stopped_by_budget, max_train_seconds=spec.run.max_train_seconds,
        validation=validation, device=str(spec.training.device),
        hardware=hardware_description(spec.training.device), hyperparameters=hyperparameters(spec, model.config),
        focus=None if focus is None else {"share": spec.run.focus_share, "within": spec.run.focus_within,
                                          "cases": spec.run.focus_cases,
                                          "every": spec.run.focus_every, "probe": spec.run.focus_probe,
                                          "history": focus.history})
    if trainer.is_world_process_zero():
        from .artifacts import summary_lines, write_artifacts  # matplotlib and the card renderer: rank 0 only

        results.evaluation = task.evaluate(trainer.model, tokenizer, validation)
        write_artifacts(trainer, task, results, timing.history, spec)
        for line in summary_lines(results, task):
            logger.info(line)
    return results


__all__ = ["TrainResults", "build_model", "build_trainer", "train"]
